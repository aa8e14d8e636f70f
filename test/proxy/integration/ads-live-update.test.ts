/**
 * The real proxy fed by an ADS server: listeners and clusters arrive over xDS, and replacing the
 * listener (same address, new route) under continuous traffic loses no request — in-flight ones
 * finish on the old version, new ones use the new one. A bad listener is NACKed and changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, createServer, request, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { AdsServer } from '../../../src/xds/server.js';
import { TypeUrl } from '../../../src/xds/protos.js';
import type { EnvoyJson } from '../../../src/xds/envoy-json.js';
import { StaticGenerator, silent } from '../../xds/helpers.js';
import { adminBlock, httpGet, runProxy, staticCluster } from './harness.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

async function namedBackend(name: string, delayMs = 0): Promise<{ server: Server; port: number; slowSeen: () => number }> {
  let slow = 0;
  const server = createServer((req, res) => {
    if (req.url === '/slow') slow++;
    req.resume();
    setTimeout(() => res.end(name), req.url === '/slow' ? 400 : delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, slowSeen: () => slow };
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function httpListener(port: number, cluster: string, extraRoute: object = {}): EnvoyJson {
  return {
    name: 'http',
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: 'ingress',
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
              route_config: { name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster, ...extraRoute } }] }] },
            },
          },
        ],
      },
    ],
  } as EnvoyJson;
}

function get(port: number, path: string, agent: Agent | false = false): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent, timeout: 5000 }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(res.statusCode === 200 ? b : `status ${res.statusCode}`));
    });
    req.on('error', (e) => resolve(`error ${e.message}`));
    req.end();
  });
}

test('listener replacement over ADS under load: no request lost, new requests use the new route', (t) => replaceUnderLoad(t, false));

test(
  'the same with keep-alive clients',
  async (t) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    t.after(() => agent.destroy());
    await replaceUnderLoad(t, agent);
  },
);

async function replaceUnderLoad(t: import('node:test').TestContext, agent: Agent | false): Promise<void> {
  const a = await namedBackend('a');
  const b = await namedBackend('b');
  const generator = new StaticGenerator();
  const port = await freePort();
  generator.set(TypeUrl.Cluster, 'a', staticCluster('a', [a.port]) as EnvoyJson);
  generator.set(TypeUrl.Cluster, 'b', staticCluster('b', [b.port]) as EnvoyJson);
  generator.set(TypeUrl.Listener, 'http', httpListener(port, 'a'));
  const ads = new AdsServer({ generator, host: '127.0.0.1', port: 0, logger: silent, debounce: { quietMs: 10, maxDelayMs: 100 } });
  const adsPort = await ads.start();
  const nacks: string[] = [];
  ads.on('nack', (_p, _t, n) => nacks.push(n.message));
  t.after(async () => {
    await ads.close();
    a.server.close();
    b.server.close();
  });
  const proxy = await runProxy({
    node: { id: 'sidecar~127.0.0.1~test.default~default.svc.cluster.local', cluster: 'test' },
    admin: adminBlock(),
    dynamic_resources: { ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] }, cds_config: { ads: {}, resource_api_version: 'V3' }, lds_config: { ads: {}, resource_api_version: 'V3' } },
    static_resources: { clusters: [staticCluster('xds-grpc', [adsPort])] },
  });
  t.after(() => proxy.stop());
  for (let i = 0; i < 100 && (await httpGet(proxy.adminPort, '/ready')).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await get(port, '/'), 'a');
  const dump = JSON.parse((await httpGet(proxy.adminPort, '/config_dump')).body);
  assert.equal(dump.configs[2].dynamic_listeners[0].name, 'http');

  const results: string[] = [];
  let running = true;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) results.push(await get(port, '/', agent));
  });
  const inFlight = Array.from({ length: 5 }, () => get(port, '/slow', agent));
  // Change the listener only once the slow requests are really in flight at the backend.
  for (let i = 0; i < 200 && a.slowSeen() < 5; i++) await new Promise((r) => setTimeout(r, 10));
  generator.set(TypeUrl.Listener, 'http', httpListener(port, 'b'));
  ads.push({ reason: 'config' });
  let switched = false;
  for (let i = 0; i < 300 && !switched; i++) {
    await new Promise((r) => setTimeout(r, 50));
    switched = results.slice(-4).every((r) => r === 'b');
  }
  await new Promise((r) => setTimeout(r, 200));
  running = false;
  await Promise.all(loops);
  const slow = await Promise.all(inFlight);
  assert.ok(switched, 'new requests did not move to the new route');
  assert.deepEqual(slow, ['a', 'a', 'a', 'a', 'a'], 'requests in flight finish on the old listener');
  const bad = results.filter((r) => r !== 'a' && r !== 'b');
  console.log(`# ${results.length} requests during the listener update, ${bad.length} failed`);
  assert.deepEqual(bad, []);

  // A listener the proxy cannot accept is NACKed with the field, and the running one keeps serving.
  const broken = httpListener(port, 'a') as { filter_chains: Array<Record<string, unknown>> };
  broken.filter_chains[0].filter_chain_match = { server_names: ['a.*.example.com'] };
  generator.set(TypeUrl.Listener, 'http', broken as EnvoyJson);
  ads.push({ reason: 'config' });
  for (let i = 0; i < 60 && nacks.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(nacks.join('\n'), /http: .*server_names\[0\]: "a\.\*\.example\.com": a wildcard must be a leading/);
  assert.equal(await get(port, '/'), 'b');
}

test('RDS and EDS over ADS: route tables and endpoints are requested by name and follow updates', async (t) => {
  const a = await namedBackend('a');
  const b = await namedBackend('b');
  const generator = new StaticGenerator();
  const port = await freePort();
  const eds = (name: string, backendPort: number): EnvoyJson =>
    ({ cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: backendPort } } } }] }] }) as EnvoyJson;
  const routes = (cluster: string): EnvoyJson =>
    ({ name: 'web-routes', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }] }) as EnvoyJson;
  for (const name of ['outbound|80||a', 'outbound|80||b']) {
    generator.set(TypeUrl.Cluster, name, { name, type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name } } as EnvoyJson);
  }
  generator.set(TypeUrl.ClusterLoadAssignment, 'outbound|80||a', eds('outbound|80||a', a.port));
  generator.set(TypeUrl.ClusterLoadAssignment, 'outbound|80||b', eds('outbound|80||b', b.port));
  generator.set(TypeUrl.RouteConfiguration, 'web-routes', routes('outbound|80||a'));
  const listener = httpListener(port, 'unused') as { filter_chains: Array<{ filters: Array<{ typed_config: Record<string, unknown> }> }> };
  const hcm = listener.filter_chains[0].filters[0].typed_config;
  delete hcm.route_config;
  hcm.rds = { route_config_name: 'web-routes', config_source: { ads: {}, resource_api_version: 'V3' } };
  generator.set(TypeUrl.Listener, 'http', listener as EnvoyJson);
  const ads = new AdsServer({ generator, host: '127.0.0.1', port: 0, logger: silent, debounce: { quietMs: 10, maxDelayMs: 100 } });
  const adsPort = await ads.start();
  t.after(async () => {
    await ads.close();
    a.server.close();
    b.server.close();
  });
  const proxy = await runProxy({
    node: { id: 'sidecar~127.0.0.1~rds.default~default.svc.cluster.local', cluster: 'test' },
    admin: adminBlock(),
    dynamic_resources: { ads_config: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] }, cds_config: { ads: {} }, lds_config: { ads: {} } },
    static_resources: { clusters: [staticCluster('xds-grpc', [adsPort])] },
  });
  t.after(() => proxy.stop());
  let first = '';
  for (let i = 0; i < 100 && first !== 'a'; i++) {
    first = await get(port, '/');
    if (first !== 'a') await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(first, 'a');
  // Only the route table changes.
  generator.set(TypeUrl.RouteConfiguration, 'web-routes', routes('outbound|80||b'));
  ads.push({ reason: 'config' });
  let now = '';
  for (let i = 0; i < 100 && now !== 'b'; i++) {
    now = await get(port, '/');
    if (now !== 'b') await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(now, 'b');
  // Only the endpoints change: b's service now points at backend a.
  generator.set(TypeUrl.ClusterLoadAssignment, 'outbound|80||b', eds('outbound|80||b', a.port));
  ads.push({ reason: 'endpoint', types: [TypeUrl.ClusterLoadAssignment] });
  for (let i = 0; i < 100 && now !== 'a'; i++) {
    now = await get(port, '/');
    if (now !== 'a') await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(now, 'a');
  const dump = JSON.parse((await httpGet(proxy.adminPort, '/config_dump?resource=dynamic_route_configs')).body);
  assert.equal(dump.configs[0].route_config.name, 'web-routes');
});
