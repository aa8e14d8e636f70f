import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderList } from '../../../src/proxy/http/headers.js';
import { compileRouteConfiguration } from '../../../src/proxy/http/route-config.js';
import { SailfinError } from '../../../src/common/errors.js';
import type { JsonObject } from '../../../src/proxy/config/fields.js';

function req(path: string, host = 'x', headers: string[] = [], method = 'GET') {
  return { method, path, host, scheme: 'http', headers: new HeaderList(headers) };
}

function table(vhosts: JsonObject[]) {
  return compileRouteConfiguration({ name: 'rc', virtual_hosts: vhosts }, undefined, 'rc');
}

const direct = (s: number) => ({ match: { prefix: '/' }, direct_response: { status: s } });

describe('route config: virtual host domains', () => {
  const rc = table([
    { name: 'exact', domains: ['api.example.com', 'api.example.com:8080'], routes: [direct(200)] },
    { name: 'suffix-long', domains: ['*.b.example.com'], routes: [direct(201)] },
    { name: 'suffix', domains: ['*.example.com'], routes: [direct(202)] },
    { name: 'prefix', domains: ['api.*'], routes: [direct(203)] },
    { name: 'any', domains: ['*'], routes: [direct(204)] },
  ]);
  const vh = (h: string) => rc.findVirtualHost(h)?.name;

  it('prefers exact, then the longest suffix, then prefix, then *', () => {
    assert.equal(vh('api.example.com'), 'exact');
    assert.equal(vh('api.example.com:8080'), 'exact');
    assert.equal(vh('x.b.example.com'), 'suffix-long');
    assert.equal(vh('x.example.com'), 'suffix');
    assert.equal(vh('api.other.org'), 'prefix');
    assert.equal(vh('other.org'), 'any');
    // With a port the suffix no longer matches; Envoy then tries prefixes.
    assert.equal(vh('api.example.com:9090'), 'prefix');
  });

  it('rejects a domain used twice, naming the field', () => {
    assert.throws(
      () => table([{ name: 'a', domains: ['x'], routes: [] }, { name: 'b', domains: ['X'], routes: [] }]),
      (e: SailfinError) => e.field === 'rc.virtual_hosts[1].domains[0]',
    );
  });

  it('ignores the port when ignore_port_in_host_matching is set', () => {
    const t = compileRouteConfiguration({ name: 'rc', ignore_port_in_host_matching: true, virtual_hosts: [{ name: 'a', domains: ['a.com'], routes: [] }] }, undefined, 'rc');
    assert.equal(t.findVirtualHost('a.com:80')?.name, 'a');
  });
});

describe('route config: route matching', () => {
  const rc = table([
    {
      name: 'vh',
      domains: ['*'],
      routes: [
        { name: 'exact', match: { path: '/exact' }, direct_response: { status: 200 } },
        { name: 'ci', match: { prefix: '/CaSe', case_sensitive: false }, direct_response: { status: 200 } },
        { name: 'regex', match: { safe_regex: { regex: '/items/[0-9]+' } }, direct_response: { status: 200 } },
        { name: 'sep', match: { path_separated_prefix: '/sep' }, direct_response: { status: 200 } },
        {
          name: 'headers',
          match: {
            prefix: '/h',
            headers: [
              { name: 'x-exact', string_match: { exact: 'a' } },
              { name: 'x-prefix', string_match: { prefix: 'pre' } },
              { name: 'x-suffix', string_match: { suffix: 'fix' } },
              { name: 'x-contains', string_match: { contains: 'mid' } },
              { name: 'x-regex', string_match: { safe_regex: { regex: 'v[0-9]' } } },
              { name: 'x-present', present_match: true },
              { name: 'x-absent', present_match: true, invert_match: true },
              { name: ':method', exact_match: 'GET' },
            ],
          },
          direct_response: { status: 200 },
        },
        { name: 'query', match: { prefix: '/q', query_parameters: [{ name: 'a', string_match: { exact: '1' } }, { name: 'b', present_match: true }] }, direct_response: { status: 200 } },
        { name: 'grpc', match: { prefix: '/svc', grpc: {} }, direct_response: { status: 200 } },
        { name: 'fallback', match: { prefix: '/' }, direct_response: { status: 404 } },
      ],
    },
  ]);
  const name = (r: ReturnType<typeof req>) => rc.route(r)?.name;

  it('matches path, case-insensitive prefix, RE2 regex (whole path) and separated prefix', () => {
    assert.equal(name(req('/exact')), 'exact');
    assert.equal(name(req('/exact?x=1')), 'exact');
    assert.equal(name(req('/exact/more')), 'fallback');
    assert.equal(name(req('/case/x')), 'ci');
    assert.equal(name(req('/items/42')), 'regex');
    assert.equal(name(req('/items/42/x')), 'fallback');
    assert.equal(name(req('/sep')), 'sep');
    assert.equal(name(req('/sep/a')), 'sep');
    assert.equal(name(req('/separate')), 'fallback');
  });

  it('ANDs header matchers, with invert_match and pseudo-headers', () => {
    const good = ['x-exact', 'a', 'x-prefix', 'prefix', 'x-suffix', 'suffix', 'x-contains', 'amidb', 'x-regex', 'v1', 'x-present', ''];
    assert.equal(name(req('/h', 'x', good)), 'headers');
    assert.equal(name(req('/h', 'x', good, 'POST')), 'fallback');
    assert.equal(name(req('/h', 'x', [...good, 'x-absent', '1'])), 'fallback');
    assert.equal(name(req('/h', 'x', good.map((v) => (v === 'v1' ? 'v10' : v)))), 'fallback');
  });

  it('matches query parameters and gRPC content types', () => {
    assert.equal(name(req('/q?a=1&b')), 'query');
    assert.equal(name(req('/q?a=2&b=1')), 'fallback');
    assert.equal(name(req('/svc/M', 'x', ['content-type', 'application/grpc+proto'])), 'grpc');
    assert.equal(name(req('/svc/M')), 'fallback');
  });

  it('rejects unsupported fields and non-RE2 regexes with their path', () => {
    assert.throws(() => table([{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/', bogus: 1 }, direct_response: { status: 200 } }] }]), (e: SailfinError) => e.field === 'rc.virtual_hosts[0].routes[0].match.bogus');
    assert.throws(() => table([{ name: 'v', domains: ['*'], routes: [{ match: { safe_regex: { regex: '(?=x)' } }, direct_response: { status: 200 } }] }]), (e: SailfinError) => e.field === 'rc.virtual_hosts[0].routes[0].match.safe_regex.regex');
    assert.throws(() => table([{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'a', retry_policy: { retry_on: 'nonsense' } } }] }]), /retry_on value "nonsense"/);
    assert.throws(
      () => table([{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 1 }], total_weight: 5 } } }] }]),
      (e: SailfinError) => e.field === 'rc.virtual_hosts[0].routes[0].route.weighted_clusters.total_weight',
    );
  });
});
