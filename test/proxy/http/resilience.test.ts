import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonObject } from '../../../src/proxy/config/fields.js';
import { closeAgent, request, simpleHcm, startBackend, startProxy, staticCluster, type Backend, type TestProxy } from './harness.js';

const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const CORS = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors';
const CORS_POLICY = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';
const FILTER_CONFIG = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

describe('router resilience: retries, timeouts, mirrors, faults, CORS', () => {
  let flaky: Backend;
  let slow: Backend;
  let main: Backend;
  let shadow: Backend;
  let proxy: TestProxy;
  let dir: string;
  let failNext = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sf-http-'));
    flaky = await startBackend('flaky', (req, res) => {
      if (failNext > 0) {
        failNext--;
        res.writeHead(503, { 'content-length': '4' });
        return res.end('fail');
      }
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
    });
    slow = await startBackend('slow', (req, res) => {
      const t = setTimeout(() => {
        res.writeHead(200, { 'content-length': '4' });
        res.end('late');
      }, 2000);
      res.on('close', () => clearTimeout(t));
    });
    main = await startBackend('main');
    shadow = await startBackend('shadow');
    const fault = (delay: boolean, pct: number): JsonObject =>
      delay
        ? { '@type': FAULT, delay: { fixed_delay: '0.2s', percentage: { numerator: pct, denominator: 'HUNDRED' } } }
        : { '@type': FAULT, abort: { http_status: 418, percentage: { numerator: pct, denominator: 'HUNDRED' } } };
    proxy = await startProxy(
      simpleHcm(
        {
          name: 'rc',
          virtual_hosts: [
            {
              name: 'vh',
              domains: ['*'],
              include_request_attempt_count: true,
              routes: [
                { match: { prefix: '/retry' }, route: { cluster: 'flaky', retry_policy: { retry_on: '5xx', num_retries: 2, retry_back_off: { base_interval: '0.01s' } } } },
                { match: { prefix: '/noretry' }, route: { cluster: 'flaky' } },
                { match: { prefix: '/nobudget' }, route: { cluster: 'flaky-nobudget', retry_policy: { retry_on: '5xx', num_retries: 2 } } },
                { match: { prefix: '/codes' }, route: { cluster: 'flaky', retry_policy: { retry_on: 'retriable-status-codes', retriable_status_codes: [503], num_retries: 1 } } },
                { match: { prefix: '/slow' }, route: { cluster: 'slow', timeout: '0.3s' } },
                { match: { prefix: '/pertry' }, route: { cluster: 'slow', timeout: '2s', retry_policy: { retry_on: '5xx', num_retries: 1, per_try_timeout: '0.2s' } } },
                { match: { prefix: '/mirror' }, route: { cluster: 'main', request_mirror_policies: [{ cluster: 'shadow', runtime_fraction: { default_value: { numerator: 100 } } }] } },
                { match: { prefix: '/abort' }, route: { cluster: 'main' }, typed_per_filter_config: { 'envoy.filters.http.fault': fault(false, 100) } },
                { match: { prefix: '/halfabort' }, route: { cluster: 'main' }, typed_per_filter_config: { 'envoy.filters.http.fault': fault(false, 50) } },
                { match: { prefix: '/delay' }, route: { cluster: 'main' }, typed_per_filter_config: { 'envoy.filters.http.fault': fault(true, 100) } },
                {
                  match: { prefix: '/cors' },
                  route: { cluster: 'main' },
                  typed_per_filter_config: {
                    'envoy.filters.http.cors': {
                      '@type': CORS_POLICY,
                      allow_origin_string_match: [{ exact: 'https://ok.example' }],
                      allow_methods: 'GET,POST',
                      allow_headers: 'x-a',
                      expose_headers: 'x-b',
                      max_age: '600',
                    },
                  },
                },
              ],
            },
            {
              // Filters configured for the whole virtual host, and one route that disables both:
              // a disabled (null) per-route entry must not fall back to the virtual host's.
              name: 'vh-filters',
              domains: ['filters.example'],
              typed_per_filter_config: {
                'envoy.filters.http.fault': fault(false, 100),
                'envoy.filters.http.cors': { '@type': CORS_POLICY, allow_origin_string_match: [{ exact: 'https://ok.example' }], allow_methods: 'GET' },
              },
              routes: [
                {
                  match: { prefix: '/off' },
                  route: { cluster: 'main' },
                  typed_per_filter_config: {
                    'envoy.filters.http.fault': { '@type': FILTER_CONFIG, disabled: true },
                    'envoy.filters.http.cors': { '@type': FILTER_CONFIG, disabled: true },
                  },
                },
                { match: { prefix: '/' }, route: { cluster: 'main' } },
              ],
            },
          ],
        },
        {
          access_log: [
            {
              name: 'envoy.access_loggers.file',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
                path: join(dir, 'access.log'),
                log_format: { json_format: { path: '%REQ(:PATH)%', code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%' } },
              },
            },
          ],
        },
        [
          { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT } },
          { name: 'envoy.filters.http.cors', typed_config: { '@type': CORS } },
        ],
      ),
      [staticCluster('flaky', [flaky.port]), staticCluster('flaky-nobudget', [flaky.port], { circuit_breakers: { thresholds: [{ max_retries: 0 }] } }), staticCluster('slow', [slow.port]), staticCluster('main', [main.port]), staticCluster('shadow', [shadow.port])],
    );
  });

  after(async () => {
    closeAgent();
    await proxy.close();
    for (const b of [flaky, slow, main, shadow]) await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function logLine(path: string): Promise<{ code: number; flags: string }> {
    for (let i = 0; i < 50; i++) {
      let text = '';
      try {
        text = readFileSync(join(dir, 'access.log'), 'utf8');
      } catch {
        /* not yet */
      }
      const line = text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).reverse().find((l) => l.path === path);
      if (line) return line;
      await sleep(20);
    }
    throw new Error(`no access log line for ${path}`);
  }

  it('retries hide a failing first attempt and count attempts', async () => {
    failNext = 1;
    const r = await request(proxy.port, '/retry');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
    assert.equal(flaky.requests.at(-1)!.headers['x-envoy-attempt-count'], '2');
    assert.ok(proxy.stats.counter('cluster.flaky.upstream_rq_retry').value >= 1);
  });

  it('returns the last failure with URX when retries run out, and does not retry without a policy', async () => {
    failNext = 3;
    const r = await request(proxy.port, '/retry?exhaust');
    assert.equal(r.status, 503);
    assert.equal((await logLine('/retry?exhaust')).flags, 'URX');
    failNext = 1;
    const before = flaky.requests.length;
    assert.equal((await request(proxy.port, '/noretry')).status, 503);
    assert.equal(flaky.requests.length - before, 1);
    failNext = 1;
    assert.equal((await request(proxy.port, '/codes')).status, 200);
    failNext = 0;
  });

  it('flags a retry the retry breaker refused UO, not URX: retries did not run out', async () => {
    failNext = 1;
    const before = flaky.requests.length;
    assert.equal((await request(proxy.port, '/nobudget')).status, 503);
    assert.equal(flaky.requests.length - before, 1);
    assert.equal((await logLine('/nobudget')).flags, 'UO');
    assert.equal(proxy.stats.counter('cluster.flaky-nobudget.upstream_rq_retry_overflow').value, 1);
    failNext = 0;
  });

  it('answers 504 UT when the route timeout passes, on time', async () => {
    const t0 = Date.now();
    const r = await request(proxy.port, '/slow?ut');
    const took = Date.now() - t0;
    assert.equal(r.status, 504);
    assert.equal(r.body, 'upstream request timeout');
    assert.ok(took >= 280 && took < 1000, `took ${took} ms`);
    assert.equal((await logLine('/slow?ut')).flags, 'UT');
  });

  it('retries after a per-try timeout and then gives up with 504', async () => {
    const before = slow.requests.length;
    const t0 = Date.now();
    const r = await request(proxy.port, '/pertry');
    assert.equal(r.status, 504);
    assert.ok(Date.now() - t0 < 1500);
    assert.equal(slow.requests.length - before, 2);
  });

  it('honours x-envoy-upstream-rq-timeout-ms', async () => {
    const t0 = Date.now();
    const r = await request(proxy.port, '/pertry', { headers: { 'x-envoy-upstream-rq-timeout-ms': '100' } });
    assert.equal(r.status, 504);
    assert.ok(Date.now() - t0 < 600);
  });

  it('mirrors requests to the shadow cluster with -shadow on the host', async () => {
    const r = await request(proxy.port, '/mirror/a', { method: 'POST', body: 'mirrored body', headers: { host: 'svc.local:8080' } });
    assert.equal(JSON.parse(r.body).backend, 'main');
    for (let i = 0; i < 50 && shadow.bodies.length === 0; i++) await sleep(20);
    assert.equal(shadow.requests.at(-1)!.headers.host, 'svc.local-shadow:8080');
    assert.equal(shadow.bodies.at(-1), 'mirrored body');
  });

  it('injects aborts (FI) and delays (DI) by percentage', async () => {
    const r = await request(proxy.port, '/abort?fi');
    assert.equal(r.status, 418);
    assert.equal(r.body, 'fault filter abort');
    assert.equal((await logLine('/abort?fi')).flags, 'FI');
    let aborted = 0;
    for (let i = 0; i < 200; i++) if ((await request(proxy.port, '/halfabort')).status === 418) aborted++;
    assert.ok(aborted > 70 && aborted < 130, `aborted ${aborted}/200`);
    const t0 = Date.now();
    const d = await request(proxy.port, '/delay?di');
    assert.equal(d.status, 200);
    assert.ok(Date.now() - t0 >= 190);
    assert.equal((await logLine('/delay?di')).flags, 'DI');
  });

  it('answers CORS preflights for allowed origins and decorates actual responses', async () => {
    const pre = await request(proxy.port, '/cors', { method: 'OPTIONS', headers: { origin: 'https://ok.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://ok.example');
    assert.equal(pre.headers['access-control-allow-methods'], 'GET,POST');
    assert.equal(pre.headers['access-control-max-age'], '600');
    const actual = await request(proxy.port, '/cors', { headers: { origin: 'https://ok.example' } });
    assert.equal(actual.headers['access-control-allow-origin'], 'https://ok.example');
    assert.equal(actual.headers['access-control-expose-headers'], 'x-b');
    const bad = await request(proxy.port, '/cors', { headers: { origin: 'https://evil.example' } });
    assert.equal(bad.headers['access-control-allow-origin'], undefined);
  });

  it('a route that disables fault and CORS does not fall back to the virtual host config', async () => {
    const headers = { host: 'filters.example', origin: 'https://ok.example' };
    const vhost = await request(proxy.port, '/any', { headers });
    assert.equal(vhost.status, 418, 'the virtual host aborts every request');
    const off = await request(proxy.port, '/off', { headers });
    assert.equal(off.status, 200);
    assert.equal(JSON.parse(off.body).backend, 'main');
    assert.equal(off.headers['access-control-allow-origin'], undefined, 'CORS is disabled on this route');
    const pre = await request(proxy.port, '/off', { method: 'OPTIONS', headers: { ...headers, 'access-control-request-method': 'GET' } });
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
  });
});
