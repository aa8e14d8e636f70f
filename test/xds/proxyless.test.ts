/**
 * End to end with a real proxyless gRPC client: @grpc/grpc-js-xds (in a child process, bootstrapped to this
 * test's ADS server) calls xds:///echo.test:50051 and reaches real grpc-js servers on loopback as the
 * Listener → RouteConfiguration → Cluster → ClusterLoadAssignment chain says, while the routes change under
 * running traffic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { AdsServer } from '../../src/xds/server.js';
import type { EnvoyJson } from '../../src/xds/envoy-json.js';
import { TypeUrl } from '../../src/xds/protos.js';
import { StaticGenerator, cla, cluster, silent, waitFor } from './helpers.js';

const TARGET_HOST = 'echo.test:50051';
const ROUTE_NAME = 'echo.test:50051';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

interface CallLine {
  i: number;
  canary: boolean;
  backend: string | null;
  error: string | null;
}

interface Echo {
  server: grpc.Server;
  port: number;
  /** Calls that reached this server, failed ones included. */
  calls: number;
}

/** A grpc-js server answering its name; with `failOddCalls` every other call fails UNAVAILABLE (a flaky backend). */
async function startEcho(name: string, failOddCalls = false): Promise<Echo> {
  const server = new grpc.Server();
  const identity = (b: Buffer): Buffer => b;
  server.addService(
    {
      Echo: {
        path: '/echo.Echo/Echo',
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      Echo: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => {
        const n = echo.calls++;
        if (failOddCalls && n % 2 === 1) callback({ code: grpc.status.UNAVAILABLE, details: `${name} is flaky` });
        else callback(null, Buffer.from(name));
      },
    },
  );
  const echo: Echo = { server, port: 0, calls: 0 };
  echo.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return echo;
}

const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

function apiListener(withFault = false): EnvoyJson {
  const fault = { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT } };
  return {
    name: TARGET_HOST,
    api_listener: {
      api_listener: {
        '@type': HCM,
        stat_prefix: 'echo',
        rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: ROUTE_NAME },
        http_filters: [...(withFault ? [fault] : []), { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
      },
    },
  };
}

function routeConfig(routes: EnvoyJson[]): EnvoyJson {
  return { name: ROUTE_NAME, virtual_hosts: [{ name: 'echo', domains: [TARGET_HOST, 'echo.test'], routes }] };
}

const weighted = (a: number, b: number): EnvoyJson => ({
  match: { prefix: '' },
  route: { weighted_clusters: { clusters: [{ name: 'echo-a', weight: a }, { name: 'echo-b', weight: b }] } },
});


/** One proxyless client process bootstrapped to a fresh ADS server serving `generator`. */
class ProxylessHarness {
  readonly lines: CallLine[] = [];
  private stderr = '';
  private child!: ChildProcess;
  private exited!: Promise<void>;
  ads!: AdsServer;
  readonly nodeId = 'proxyless~127.0.0.1~echo-client.default~default.svc.cluster.local';

  constructor(readonly generator: StaticGenerator) {}

  async start(): Promise<void> {
    this.ads = new AdsServer({ generator: this.generator, host: '127.0.0.1', port: 0, logger: silent, debounce: { quietMs: 20 } });
    const adsPort = await this.ads.start();
    // grpc-js-xds insists on node.locality; GENERATOR=grpc is what Istio's proxyless bootstrap says.
    const bootstrap = {
      xds_servers: [{ server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: this.nodeId, locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
    };
    const script = fileURLToPath(new URL('./fixtures/proxyless-client.js', import.meta.url));
    // NODE_TEST_CONTEXT would make the child speak the test runner's protocol instead of plain stdout.
    const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
    this.child = spawn(process.execPath, [script], {
      env: { ...env, GRPC_XDS_BOOTSTRAP: '', GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap), TARGET: `xds:///${TARGET_HOST}` },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const p of parts) if (p.trim()) this.lines.push(JSON.parse(p) as CallLine);
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise<void>((resolve) => this.child.on('exit', () => resolve()));
  }

  /** Wait until at least `n` calls made after line `from` satisfy `pred`. */
  after(from: number, pred: (l: CallLine) => boolean, n: number, what: string, ms = 15_000): Promise<void> {
    return waitFor(
      () => this.lines.slice(from).filter(pred).length >= n,
      ms,
      `${what} (last calls: ${JSON.stringify(this.lines.slice(-2))}; stderr: ${this.stderr.slice(-500)})`,
    );
  }

  /** Wait until the last `n` calls all satisfy `pred` (a route change has fully taken effect). */
  settled(pred: (l: CallLine) => boolean, n: number, what: string): Promise<void> {
    return waitFor(
      () => this.lines.length >= n && this.lines.slice(-n).every(pred),
      15_000,
      `${what} (last calls: ${JSON.stringify(this.lines.slice(-4))}; stderr: ${this.stderr.slice(-500)})`,
    );
  }

  async close(): Promise<void> {
    if (!this.child) return;
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
    await this.ads.close();
  }
}

test('a grpc-js-xds client follows Listener/Route/Cluster/EDS from Sailfin, and route changes under traffic fail no call', async (t) => {
  const a = await startEcho('A');
  const b = await startEcho('B');
  const generator = new StaticGenerator()
    .set(TypeUrl.Listener, TARGET_HOST, apiListener())
    .set(TypeUrl.RouteConfiguration, ROUTE_NAME, routeConfig([weighted(100, 0)]))
    .set(TypeUrl.Cluster, 'echo-a', cluster('echo-a'))
    .set(TypeUrl.Cluster, 'echo-b', cluster('echo-b'))
    .set(TypeUrl.ClusterLoadAssignment, 'echo-a', cla('echo-a', a.port))
    .set(TypeUrl.ClusterLoadAssignment, 'echo-b', cla('echo-b', b.port));
  const h = new ProxylessHarness(generator);
  t.after(async () => {
    await h.close();
    a.server.forceShutdown();
    b.server.forceShutdown();
  });
  await h.start();
  const { ads, lines } = h;
  const after = h.after.bind(h);

  // 1. Everything to A.
  // Generous: loading grpc-js-xds in a fresh process is slow on a busy machine.
  await after(0, (l) => l.backend === 'A', 10, '10 calls answered by A', 40_000);
  const conn = ads.connectionFor(h.nodeId)!;
  assert.ok(conn, 'the proxyless client is connected');
  assert.deepEqual(conn.subscribedNames(TypeUrl.Listener), [TARGET_HOST]);
  assert.deepEqual(conn.subscribedNames(TypeUrl.RouteConfiguration), [ROUTE_NAME]);
  assert.equal(conn.metadata.GENERATOR, 'grpc');
  // Calls made before the first config arrived may time out on a busy machine; from then on none may fail.
  const firstServed = lines.findIndex((l) => l.backend !== null);
  assert.deepEqual(lines.slice(firstServed).filter((l) => l.backend !== 'A'), [], 'every call after the first served one went to A');

  // 2. Shift to 50/50 while calls run: both answer.
  let mark = lines.length;
  generator.set(TypeUrl.RouteConfiguration, ROUTE_NAME, routeConfig([weighted(50, 50)]));
  ads.push({ reason: 'config', types: [TypeUrl.RouteConfiguration] });
  await after(mark, (l) => l.backend === 'B', 5, 'B answering after 50/50');
  await after(mark, (l) => l.backend === 'A', 5, 'A still answering after 50/50');

  // 3. Header match first: canary calls to B, the rest to A.
  generator.set(
    TypeUrl.RouteConfiguration,
    ROUTE_NAME,
    routeConfig([{ match: { prefix: '', headers: [{ name: 'x-canary', string_match: { exact: 'true' } }] }, route: { cluster: 'echo-b' } }, weighted(100, 0)]),
  );
  ads.push({ reason: 'config' });
  const rds = conn.watches.get(TypeUrl.RouteConfiguration)!;
  await waitFor(() => rds.ackedVersion === rds.sentVersion, 10_000, 'header route ACKed');
  // The client applies an ACKed route a moment later; from then on every call follows the header.
  const followsHeader = (l: CallLine): boolean => l.backend === (l.canary ? 'B' : 'A');
  await h.settled(followsHeader, 20, '20 calls in a row follow x-canary');

  // 4. A route grpc-js-xds refuses (weights summing to 0) is NACKed; traffic keeps the last good routes.
  generator.set(TypeUrl.RouteConfiguration, ROUTE_NAME, routeConfig([weighted(0, 0)]));
  ads.push({ reason: 'config' });
  await waitFor(() => rds.lastNack !== undefined, 10_000, 'NACK from grpc-js-xds');
  assert.match(rds.lastNack!.message, /sum of weights is 0/);
  mark = lines.length;
  await after(mark, () => true, 10, 'calls after the NACK');
  assert.ok(lines.slice(mark).every(followsHeader), 'the last good routes stay in force');

  // Istio's default LEAST_REQUEST is refused by gRPC clients (a proxyless generator must say ROUND_ROBIN).
  generator.set(TypeUrl.Cluster, 'echo-a', cluster('echo-a', { lb_policy: 'LEAST_REQUEST' }));
  ads.push({ reason: 'config', types: [TypeUrl.Cluster] });
  const cds = conn.watches.get(TypeUrl.Cluster)!;
  await waitFor(() => cds.lastNack !== undefined, 10_000, 'CDS NACK from grpc-js-xds');
  assert.match(cds.lastNack!.message, /unsupported lb_policy: LEAST_REQUEST/);
  generator.set(TypeUrl.Cluster, 'echo-a', cluster('echo-a', { lb_policy: 'ROUND_ROBIN' }));

  // 5. Endpoint change only: cluster echo-a now points at B's server.
  generator.set(TypeUrl.RouteConfiguration, ROUTE_NAME, routeConfig([weighted(100, 0)]));
  generator.set(TypeUrl.ClusterLoadAssignment, 'echo-a', cla('echo-a', b.port));
  ads.push({ reason: 'config' });
  const eds = conn.watches.get(TypeUrl.ClusterLoadAssignment)!;
  await waitFor(() => eds.ackedVersion === eds.sentVersion && rds.ackedVersion === rds.sentVersion, 10_000, 'EDS+RDS ACKed');
  mark = lines.length;
  await after(mark, (l) => l.backend === 'B', 10, 'echo-a endpoints now answer as B');

  const failed = lines.slice(firstServed).filter((l) => l.error !== null);
  assert.deepEqual(failed, [], 'no call failed during the changes');
  assert.ok(lines.length > 60, `enough traffic ran (${lines.length} calls)`);
});

test('grpc-js-xds applies Sailfin-served retry policies and per-route fault injection', async (t) => {
  const flaky = await startEcho('F', true);
  const generator = new StaticGenerator()
    .set(TypeUrl.Listener, TARGET_HOST, apiListener(true))
    .set(TypeUrl.RouteConfiguration, ROUTE_NAME, routeConfig([{ match: { prefix: '' }, route: { cluster: 'flaky' } }]))
    .set(TypeUrl.Cluster, 'flaky', cluster('flaky'))
    .set(TypeUrl.ClusterLoadAssignment, 'flaky', cla('flaky', flaky.port));
  const h = new ProxylessHarness(generator);
  t.after(async () => {
    await h.close();
    flaky.server.forceShutdown();
  });
  await h.start();

  // Without a retry policy the flaky backend's failures reach the caller.
  await h.after(0, (l) => l.error !== null, 3, 'failures from the flaky backend', 40_000);
  assert.ok(h.lines.some((l) => l.error?.startsWith('14 ')));

  // Istio-style retry on "unavailable": every call succeeds, the backend sees the extra attempts.
  const retry = { retry_on: 'unavailable,cancelled,deadline-exceeded', num_retries: 2 };
  const abort = {
    'envoy.filters.http.fault': { '@type': FAULT, abort: { grpc_status: 7, percentage: { numerator: 100, denominator: 'HUNDRED' } } },
  };
  generator.set(
    TypeUrl.RouteConfiguration,
    ROUTE_NAME,
    routeConfig([
      // Canary calls hit an abort fault (PERMISSION_DENIED), the rest retry past the flaky failures.
      { match: { prefix: '', headers: [{ name: 'x-canary', string_match: { exact: 'true' } }] }, route: { cluster: 'flaky' }, typed_per_filter_config: abort },
      { match: { prefix: '' }, route: { cluster: 'flaky', retry_policy: retry } },
    ]),
  );
  h.ads.push({ reason: 'config' });
  const expected = (l: CallLine): boolean => (l.canary ? l.error?.startsWith('7 ') === true : l.backend === 'F');
  await h.settled(expected, 30, '30 calls in a row: canary aborted by the fault, the rest retried to success');
  const callsBefore = flaky.calls;
  const mark = h.lines.length;
  await h.after(mark, (l) => !l.canary, 10, '10 more plain calls');
  const plain = h.lines.slice(mark).filter((l) => !l.canary).length;
  assert.ok(flaky.calls - callsBefore > plain, 'retries reached the backend (more attempts than calls)');
});
