import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SailfinError } from '../../src/common/errors.js';
import { clusterName, parseClusterName } from '../../src/pilot/names.js';
import { parseIstioDuration, toProtoDuration } from '../../src/pilot/duration.js';
import { buildHttpRoutes, defaultRoute, type HttpRoute, type HttpRouteBuildOptions } from '../../src/pilot/routes/http-route.js';

const FQDN = (h: string) => (h.includes('.') ? h : `${h}.default.svc.cluster.local`);
const options = (over: Partial<HttpRouteBuildOptions> = {}): HttpRouteBuildOptions => ({
  vsName: 'reviews',
  vsNamespace: 'default',
  proxy: { gateways: new Set(['mesh']), labels: { app: 'productpage' }, namespace: 'default', port: 9080 },
  targets: { cluster: (d) => clusterName('outbound', d.port?.number ?? 9080, d.subset ?? '', FQDN(d.host)) },
  decoratorHost: 'reviews.default.svc.cluster.local:9080',
  ...over,
});

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SailfinError, String(err));
    return err.field;
  }
  assert.fail('expected a SailfinError');
}

describe('pilot names and durations', () => {
  it('uses Istio cluster names and parses them back', () => {
    const name = clusterName('outbound', 9080, 'v1', 'reviews.default.svc.cluster.local');
    assert.equal(name, 'outbound|9080|v1|reviews.default.svc.cluster.local');
    assert.deepEqual(parseClusterName(name), { direction: 'outbound', port: 9080, subset: 'v1', hostname: 'reviews.default.svc.cluster.local' });
    assert.equal(parseClusterName('PassthroughCluster'), undefined);
  });

  it('converts Go-style durations to protobuf durations', () => {
    assert.equal(toProtoDuration(parseIstioDuration('7s', 'f')), '7s');
    assert.equal(toProtoDuration(parseIstioDuration('0.5s', 'f')), '0.500s');
    assert.equal(toProtoDuration(parseIstioDuration('3m', 'f')), '180s');
    assert.equal(toProtoDuration(parseIstioDuration('1h30m', 'f')), '5400s');
    assert.equal(toProtoDuration(parseIstioDuration('250ms', 'f')), '0.250s');
    assert.equal(fieldOf(() => parseIstioDuration('7 seconds', 'spec.http[0].timeout')), 'spec.http[0].timeout');
  });
});

describe('VirtualService http routes → Envoy routes', () => {
  it('request routing by end-user header, then a default to v1 (reviews-test-v2)', () => {
    const http: HttpRoute[] = [
      { match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
      { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
    ];
    const routes = buildHttpRoutes(http, options());
    assert.equal(routes.length, 2);
    assert.deepEqual(routes[0].match, { prefix: '/', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] });
    assert.equal((routes[0].route as { cluster: string }).cluster, 'outbound|9080|v2|reviews.default.svc.cluster.local');
    assert.equal((routes[1].route as { cluster: string }).cluster, 'outbound|9080|v1|reviews.default.svc.cluster.local');
    const retry = (routes[1].route as { retry_policy: { retry_on: string; num_retries: number } }).retry_policy;
    assert.equal(retry.retry_on, 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes');
    assert.equal(retry.num_retries, 2);
    assert.equal((routes[1].route as { timeout: string }).timeout, '0s');
    assert.deepEqual(routes[1].decorator, { operation: 'reviews.default.svc.cluster.local:9080/*' });
  });

  it('weights become weighted clusters and weight-0 destinations are dropped', () => {
    const routes = buildHttpRoutes(
      [{ route: [
        { destination: { host: 'reviews', subset: 'v1' }, weight: 50 },
        { destination: { host: 'reviews', subset: 'v3' }, weight: 50 },
        { destination: { host: 'reviews', subset: 'v2' }, weight: 0 },
      ] }],
      options(),
    );
    assert.deepEqual((routes[0].route as { weighted_clusters: unknown }).weighted_clusters, {
      clusters: [
        { name: 'outbound|9080|v1|reviews.default.svc.cluster.local', weight: 50 },
        { name: 'outbound|9080|v3|reviews.default.svc.cluster.local', weight: 50 },
      ],
    });
    assert.equal(fieldOf(() => buildHttpRoutes([{ route: [{ destination: { host: 'r' }, weight: 50.5 }, { destination: { host: 'r' }, weight: 49.5 }] }], options())), 'spec.http[0].route[0].weight');
  });

  it('fault delay and abort go to the fault filter per route, out of a million', () => {
    const routes = buildHttpRoutes(
      [{
        match: [{ headers: { 'end-user': { exact: 'jason' } } }],
        fault: { delay: { percentage: { value: 100 }, fixedDelay: '7s' }, abort: { httpStatus: 500, percentage: { value: 12.5 } } },
        route: [{ destination: { host: 'ratings', subset: 'v1' } }],
      }],
      options(),
    );
    assert.deepEqual(routes[0].typed_per_filter_config, {
      'envoy.filters.http.fault': {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
        delay: { fixed_delay: '7s', percentage: { numerator: 1_000_000, denominator: 'MILLION' } },
        abort: { percentage: { numerator: 125_000, denominator: 'MILLION' }, http_status: 500 },
      },
    });
    assert.equal(fieldOf(() => buildHttpRoutes([{ fault: { abort: { httpStatus: 99 } }, route: [{ destination: { host: 'r' } }] }], options())), 'spec.http[0].fault.abort.httpStatus');
  });

  it('timeout, retries with status codes, mirror with a percentage', () => {
    const routes = buildHttpRoutes(
      [{
        route: [{ destination: { host: 'httpbin', subset: 'v1', port: { number: 8000 } } }],
        timeout: '0.5s',
        retries: { attempts: 3, perTryTimeout: '2s', retryOn: 'gateway-error,503' },
        mirror: { host: 'httpbin', subset: 'v2', port: { number: 8000 } },
        mirrorPercentage: { value: 100 },
      }],
      options(),
    );
    const action = routes[0].route as Record<string, unknown>;
    assert.equal(action.timeout, '0.500s');
    assert.deepEqual(
      { ...(action.retry_policy as object), retry_host_predicate: undefined },
      { retry_on: 'gateway-error,retriable-status-codes', num_retries: 3, per_try_timeout: '2s', retriable_status_codes: [503], host_selection_retry_max_attempts: '5', retry_host_predicate: undefined },
    );
    assert.deepEqual(action.request_mirror_policies, [
      { cluster: 'outbound|8000|v2|httpbin.default.svc.cluster.local', runtime_fraction: { default_value: { numerator: 1_000_000, denominator: 'MILLION' } }, trace_sampled: false },
    ]);
    const noRetry = buildHttpRoutes([{ route: [{ destination: { host: 'r' } }], retries: { attempts: 0 } }], options());
    assert.equal((noRetry[0].route as Record<string, unknown>).retry_policy, undefined);
  });

  it('matches: uri kinds, method, withoutHeaders, queryParams, ignoreUriCase', () => {
    const routes = buildHttpRoutes(
      [{
        match: [
          { uri: { exact: '/productpage' } },
          { uri: { prefix: '/static' }, method: { exact: 'GET' } },
          { uri: { regex: '/api/v[0-9]+/.*' }, ignoreUriCase: true, withoutHeaders: { 'x-debug': {} }, queryParams: { user: { exact: 'a' } } },
        ],
        route: [{ destination: { host: 'productpage' } }],
      }],
      options(),
    );
    assert.deepEqual(routes.map((r) => r.match), [
      { path: '/productpage' },
      { prefix: '/static', headers: [{ name: ':method', string_match: { exact: 'GET' } }] },
      {
        safe_regex: { regex: '/api/v[0-9]+/.*' },
        case_sensitive: false,
        headers: [{ name: 'x-debug', present_match: true, invert_match: true }],
        query_parameters: [{ name: 'user', string_match: { exact: 'a' } }],
      },
    ]);
  });

  it('drops match clauses that cannot apply to this proxy', () => {
    const http: HttpRoute[] = [
      { match: [{ sourceLabels: { app: 'reviews' } }], route: [{ destination: { host: 'ratings', subset: 'v2' } }] },
      { match: [{ port: 8080 }], route: [{ destination: { host: 'ratings', subset: 'v3' } }] },
      { match: [{ gateways: ['bookinfo-gateway'] }], route: [{ destination: { host: 'ratings', subset: 'v4' } }] },
      { route: [{ destination: { host: 'ratings', subset: 'v1' } }] },
    ];
    const fromProductpage = buildHttpRoutes(http, options());
    assert.deepEqual(fromProductpage.map((r) => (r.route as { cluster: string }).cluster.split('|')[2]), ['v1']);
    const fromReviews = buildHttpRoutes(http, options({ proxy: { gateways: new Set(['mesh']), labels: { app: 'reviews' }, namespace: 'default', port: 9080 } }));
    assert.deepEqual(fromReviews.map((r) => (r.route as { cluster: string }).cluster.split('|')[2]), ['v2', 'v1']);
    const atGateway = buildHttpRoutes(http, options({ proxy: { gateways: new Set(['default/bookinfo-gateway']), labels: {}, namespace: 'istio-system', port: 8080 } }));
    assert.deepEqual(atGateway.map((r) => (r.route as { cluster: string }).cluster.split('|')[2]), ['v3', 'v4', 'v1']);
  });

  it('redirect, direct response, rewrite, headers and CORS', () => {
    const routes = buildHttpRoutes(
      [
        { match: [{ uri: { prefix: '/old' } }], redirect: { uri: '/new', authority: 'example.com', redirectCode: 302 } },
        { match: [{ uri: { exact: '/teapot' } }], directResponse: { status: 418, body: { string: 'short and stout' } } },
        {
          match: [{ uri: { prefix: '/v1/api' } }],
          rewrite: { uri: '/api', authority: 'backend' },
          headers: { request: { set: { 'x-a': '1' }, add: { 'x-b': '2' }, remove: ['x-c'] }, response: { remove: ['server'] } },
          corsPolicy: { allowOrigins: [{ exact: 'https://a.example' }], allowMethods: ['GET', 'POST'], maxAge: '24h', allowCredentials: true },
          route: [{ destination: { host: 'reviews' } }],
        },
      ],
      options(),
    );
    assert.deepEqual(routes[0].redirect, { path_redirect: '/new', host_redirect: 'example.com', response_code: 'FOUND' });
    assert.deepEqual(routes[1].direct_response, { status: 418, body: { inline_string: 'short and stout' } });
    const action = routes[2].route as Record<string, unknown>;
    assert.equal(action.prefix_rewrite, '/api');
    assert.equal(action.host_rewrite_literal, 'backend');
    assert.deepEqual(routes[2].request_headers_to_add, [
      { header: { key: 'x-a', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-b', value: '2' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    assert.deepEqual(routes[2].request_headers_to_remove, ['x-c']);
    assert.deepEqual(routes[2].response_headers_to_remove, ['server']);
    const cors = (routes[2].typed_per_filter_config as Record<string, Record<string, unknown>>)['envoy.filters.http.cors'];
    assert.deepEqual(cors.allow_origin_string_match, [{ exact: 'https://a.example' }]);
    assert.equal(cors.allow_methods, 'GET,POST');
    assert.equal(cors.max_age, '86400');
    assert.equal(fieldOf(() => buildHttpRoutes([{ redirect: { uri: '/x' }, route: [{ destination: { host: 'r' } }] }], options())), 'spec.http[0]');
  });

  it('default route: whole prefix, Istio default retries, timeout disabled', () => {
    const r = defaultRoute('outbound|9080||details.default.svc.cluster.local', 'details.default.svc.cluster.local:9080');
    assert.equal((r.route as { cluster: string }).cluster, 'outbound|9080||details.default.svc.cluster.local');
    assert.equal((r.route as { timeout: string }).timeout, '0s');
    assert.ok((r.route as { retry_policy?: unknown }).retry_policy);
  });
});
