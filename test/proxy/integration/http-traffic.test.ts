/**
 * Issue 3's traffic behaviours end to end through the real `sailfin proxy` process: weighted split
 * over 1,000 requests, retries hiding a failing first attempt, 504 UT on time, 503 UO from circuit
 * breakers, outlier ejection, mirroring to a shadow with the -shadow host, HTTPS termination.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, Agent, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { makePki } from '../tls/certs.js';
import { adminBlock, httpGet, runProxy, staticCluster, tcpListener, type RunningProxy } from './harness.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const STDOUT_LOG = [{ name: 'envoy.access_loggers.stdout', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog' } }];

interface Backend {
  name: string;
  port: number;
  server: Server;
  seen: Array<{ path: string; host: string }>;
}

async function backend(name: string, handler: (path: string, res: import('node:http').ServerResponse, b: Backend) => void): Promise<Backend> {
  const b = { name, port: 0, seen: [] } as unknown as Backend;
  b.server = createServer((req, res) => {
    b.seen.push({ path: req.url ?? '', host: req.headers.host ?? '' });
    req.resume();
    req.on('end', () => handler(req.url ?? '', res, b));
  });
  b.server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', r));
  b.port = (b.server.address() as { port: number }).port;
  return b;
}

const ok = (path: string, res: import('node:http').ServerResponse, b: Backend): void => void res.end(`${b.name} ${path}`);

let proxy: RunningProxy;
let backends: Record<string, Backend>;
const pki = makePki();
const agent = new Agent({ keepAlive: true, maxSockets: 20 });

function hcm(routes: object[], extra: object = {}): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM,
      stat_prefix: 'ingress',
      access_log: STDOUT_LOG,
      http_filters: [ROUTER],
      route_config: { name: 'main', virtual_hosts: [{ name: 'all', domains: ['*'], routes }] },
      ...extra,
    },
  };
}

before(async () => {
  let flakyCount = 0;
  backends = {
    a: await backend('a', ok),
    b: await backend('b', ok),
    flaky: await backend('flaky', (p, res, b) => {
      // Every odd request fails: with one retry, each client request sees a success.
      if (flakyCount++ % 2 === 0) {
        res.statusCode = 503;
        res.end('fail');
      } else ok(p, res, b);
    }),
    slow: await backend('slow', (p, res, b) => void setTimeout(() => ok(p, res, b), 3000)),
    cb: await backend('cb', (p, res, b) => void setTimeout(() => ok(p, res, b), 400)),
    bad: await backend('bad', (_p, res) => {
      res.statusCode = 500;
      res.end('bad');
    }),
    shadow: await backend('shadow', ok),
  };
  const leaf = pki.leaf('web', ['DNS:web.example.com']);
  const port = (n: string): number[] => [backends[n].port];
  proxy = await runProxy({
    admin: adminBlock(),
    static_resources: {
      secrets: [{ name: 'web', tls_certificate: { certificate_chain: { inline_string: leaf.cert }, private_key: { inline_string: leaf.key } } }],
      clusters: [
        staticCluster('a', port('a')),
        staticCluster('b', port('b')),
        staticCluster('flaky', port('flaky')),
        staticCluster('slow', port('slow')),
        staticCluster('shadow', port('shadow')),
        staticCluster('cb', port('cb'), { circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1, max_requests: 1 }] } }),
        staticCluster('outlier', [backends.bad.port, backends.a.port], {
          lb_policy: 'ROUND_ROBIN',
          outlier_detection: { consecutive_5xx: 3, interval: '10s', base_ejection_time: '30s', max_ejection_percent: 100 },
        }),
      ],
      listeners: [
        tcpListener('http', [
          {
            filters: [
              hcm([
                { match: { prefix: '/split' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 70 }, { name: 'b', weight: 30 }] } } },
                { match: { prefix: '/retry' }, route: { cluster: 'flaky', retry_policy: { retry_on: '5xx', num_retries: 2 } } },
                { match: { prefix: '/timeout' }, route: { cluster: 'slow', timeout: '0.5s' } },
                { match: { prefix: '/cb' }, route: { cluster: 'cb' } },
                { match: { prefix: '/outlier' }, route: { cluster: 'outlier' } },
                { match: { prefix: '/mirror' }, route: { cluster: 'a', request_mirror_policies: [{ cluster: 'shadow', runtime_fraction: { default_value: { numerator: 100 } } }] } },
              ]),
            ],
          },
        ]),
        tcpListener('https', [
          {
            filters: [hcm([{ match: { prefix: '/' }, route: { cluster: 'a' } }])],
            transport_socket: {
              name: 'envoy.transport_sockets.tls',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
                common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'web' }], alpn_protocols: ['http/1.1'] },
              },
            },
          },
        ]),
      ],
    },
  });
});

after(async () => {
  agent.destroy();
  await proxy?.stop();
  for (const b of Object.values(backends ?? {})) {
    b.server.closeAllConnections();
    b.server.close();
  }
  pki.cleanup();
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: proxy.ports.get('http'), path, headers, agent, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('weighted_clusters 70/30: the observed share over 1,000 requests is within 5 points', async () => {
  const counts: Record<string, number> = { a: 0, b: 0 };
  for (let i = 0; i < 1000; i += 50) {
    const rs = await Promise.all(Array.from({ length: 50 }, () => get('/split')));
    for (const r of rs) {
      assert.equal(r.status, 200);
      counts[r.body.split(' ')[0]]++;
    }
  }
  console.log(`# weighted split 70/30 over 1000 requests: a=${counts.a} b=${counts.b}`);
  assert.equal(counts.a + counts.b, 1000);
  assert.ok(Math.abs(counts.a / 1000 - 0.7) <= 0.05, JSON.stringify(counts));
});

test('a retry hides a failing first attempt', async () => {
  for (let i = 0; i < 4; i++) {
    const r = await get('/retry');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'flaky /retry');
  }
  const stats = (await httpGet(proxy.adminPort, '/stats?filter=cluster.flaky.upstream_rq_retry$')).body;
  assert.match(stats, /cluster\.flaky\.upstream_rq_retry: [4-9]/);
});

test('a route timeout answers 504 with the UT flag, on time', async () => {
  const started = Date.now();
  const r = await get('/timeout');
  const elapsed = Date.now() - started;
  assert.equal(r.status, 504);
  assert.equal(r.body, 'upstream request timeout');
  assert.ok(elapsed >= 450 && elapsed < 3000, `504 after ${elapsed} ms`);
  await new Promise((res) => setTimeout(res, 100));
  assert.match(proxy.stdout(), /"GET \/timeout HTTP\/1\.1" 504 UT /);
});

test('circuit breakers answer 503 with the UO flag when requests overflow', async () => {
  const rs = await Promise.all(Array.from({ length: 8 }, () => get('/cb')));
  const statuses = rs.map((r) => r.status);
  assert.ok(statuses.includes(200), statuses.join(','));
  assert.ok(statuses.includes(503), statuses.join(','));
  await new Promise((res) => setTimeout(res, 100));
  assert.match(proxy.stdout(), /"GET \/cb HTTP\/1\.1" 503 UO /);
  assert.match((await httpGet(proxy.adminPort, '/stats')).body, /cluster\.cb\.upstream_rq_pending_overflow: [1-9]/);
});

test('outlier detection ejects the failing endpoint so traffic stops reaching it', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) statuses.push((await get('/outlier')).status);
  const fails = statuses.filter((s) => s === 500).length;
  // consecutive_5xx: 3 → at most 3 failures reach the client before the host is ejected.
  assert.ok(fails <= 3 && fails >= 1, statuses.join(','));
  assert.deepEqual(statuses.slice(-20), new Array(20).fill(200));
  assert.match((await httpGet(proxy.adminPort, '/clusters')).body, /outlier::127\.0\.0\.1:\d+::health_flags::\/failed_outlier_check/);
});

test('mirroring sends a copy to the shadow cluster with the -shadow host suffix', async () => {
  const r = await get('/mirror/x', { host: 'shop.example' });
  assert.equal(r.body, 'a /mirror/x');
  for (let i = 0; i < 50 && backends.shadow.seen.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
  assert.deepEqual(backends.shadow.seen.at(-1), { path: '/mirror/x', host: 'shop.example-shadow' });
});

test('HTTPS is terminated with the SDS-named certificate', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: proxy.ports.get('https'), path: '/tls', servername: 'web.example.com', ca: pki.ca, agent: false }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(`${res.statusCode} ${b}`));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(body, '200 a /tls');
});
