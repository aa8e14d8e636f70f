/**
 * What an injected sidecar serves besides traffic, with the real `sailfin proxy` started from the
 * pod env the injector sets: the app's rewritten probes on the status port (/app-health/...,
 * performed against real local app servers over HTTP, TCP and gRPC), Envoy's Prometheus stats on
 * 15090's stand-in port, and `sailfin wait` (holdApplicationUntilProxyStarts' postStart hook)
 * against the proxy's readiness port.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MeshCa } from '../../src/ca/mesh-ca.js';
import { issueServingCertificate } from '../../src/ca/signer.js';

const BIN = new URL('../../../bin/sailfin', import.meta.url).pathname;

const POD_ENV = {
  POD_NAME: 'web-6f7d9-abcde',
  POD_NAMESPACE: 'shop',
  INSTANCE_IP: '10.244.2.9',
  SERVICE_ACCOUNT: 'web',
  ISTIO_META_WORKLOAD_NAME: 'web',
};

interface Started {
  child: ChildProcess;
  stderr: () => string;
  ports: Record<string, number>;
}

/** Spawns `sailfin proxy ...` and waits for "ready", reading the ports it printed. */
async function startProxy(args: string[], env: Record<string, string>): Promise<Started> {
  const child = spawn(BIN, ['proxy', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy did not start: ${err}`)), 45_000);
    const onData = () => {
      if (/sailfin proxy: ready/.test(err)) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited ${code}: ${err}`));
    });
  });
  const ports: Record<string, number> = {};
  for (const m of err.matchAll(/sailfin proxy: ([a-z ]+) listening on (\d+)/g)) ports[m[1]] = Number(m[2]);
  return { child, stderr: () => err, ports };
}

async function stop(p: Started | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGKILL');
  await new Promise((r) => p.child.once('exit', r));
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

async function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((r) => server.listen(0, host, r));
  return (server.address() as net.AddressInfo).port;
}

const close = (server: net.Server | http2.Http2Server) => new Promise((r) => server.close(r));

/** A minimal grpc.health.v1 server: SERVING (1) or NOT_SERVING (2) for `service`, SERVICE_UNKNOWN (3) for any other. */
function grpcHealthServer(service: string, status: () => number): http2.Http2Server {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      // HealthCheckRequest { string service = 1 } after the 5-byte gRPC frame prefix.
      const body = Buffer.concat(chunks);
      const asked = body.length > 7 && body[5] === 0x0a ? body.subarray(7, 7 + body[6]).toString() : '';
      if (headers[':path'] !== '/grpc.health.v1.Health/Check') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '12' }));
        stream.end();
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, asked === service ? status() : 3]));
    });
  });
  return server;
}

test('the proxy answers /app-health/ by running the original probes against the app, and serves Envoy stats on its envoy-prom port', { timeout: 90_000 }, async () => {
  // The apps listen on the "pod IP" only (127.0.0.2 stands in for it), as the kubelet reaches them;
  // the proxy must probe them there, from the capture-exempt 127.0.0.6.
  const POD_IP = '127.0.0.2';
  let appStatus = 200;
  let sawHeader = '';
  let sawSource = '';
  const app = http.createServer((req, res) => {
    sawHeader = String(req.headers['x-probe'] ?? '');
    sawSource = String(req.socket.remoteAddress);
    if (req.url === '/app-metrics') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('# TYPE shop_orders_total counter\nshop_orders_total 7\n');
    res.writeHead(req.url === '/ready' ? appStatus : 404).end();
  });
  const appPort = await listen(app, POD_IP);
  const tcpApp = net.createServer((s) => s.destroy());
  const tcpPort = await listen(tcpApp, POD_IP);
  let grpcStatus = 1;
  const grpcApp = grpcHealthServer('web.v1.Shop', () => grpcStatus);
  const grpcPort = await listen(grpcApp, POD_IP);
  // An HTTPS app with a certificate the proxy cannot verify: the kubelet skips verification, so must the proxy.
  const caDir = mkdtempSync(join(tmpdir(), 'sailfin-probe-ca-'));
  const ca = await MeshCa.start({ stateDir: caDir });
  const serving = await issueServingCertificate(ca.bundle, { dnsNames: ['web.shop.svc'], ipAddresses: [POD_IP] });
  const tlsApp = https.createServer({ cert: serving.certChainPem, key: serving.key.pem }, (req, res) => res.writeHead(req.url === '/tls-ready' ? 204 : 404).end());
  const tlsPort = await listen(tlsApp, POD_IP);
  const controlPlane = net.createServer((s) => s.destroy());
  const cpPort = await listen(controlPlane);
  const probers = {
    '/app-health/tls/readyz': { httpGet: { path: '/tls-ready', port: tlsPort, scheme: 'HTTPS' }, timeoutSeconds: 2 },
    '/app-health/web/readyz': { httpGet: { path: '/ready', port: appPort, scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'kubelet' }] }, timeoutSeconds: 2 },
    '/app-health/web/livez': { tcpSocket: { port: tcpPort }, timeoutSeconds: 2 },
    '/app-health/web/startupz': { grpc: { port: grpcPort, service: 'web.v1.Shop' }, timeoutSeconds: 2 },
  };
  let proxy: Started | undefined;
  try {
    proxy = await startProxy(
      ['--discovery-address', `127.0.0.1:${cpPort}`, '--admin-port', '0', '--stats-port', '0', '--health-port', '0', '--envoy-prom-port', '0', '--health-address', '127.0.0.1'],
      {
        ...POD_ENV,
        INSTANCE_IP: POD_IP,
        ISTIO_KUBE_APP_PROBERS: JSON.stringify(probers),
        ISTIO_PROMETHEUS_ANNOTATIONS: JSON.stringify({ scrape: 'true', port: String(appPort), path: '/app-metrics' }),
      },
    );
    const stats = proxy.ports.stats;
    assert.ok(stats > 0 && proxy.ports['envoy prometheus'] > 0, proxy.stderr());

    assert.equal((await get(stats, '/app-health/web/readyz')).status, 200, 'httpGet healthy');
    assert.equal(sawHeader, 'kubelet', "the probe's httpHeaders reach the app");
    assert.equal(sawSource, '127.0.0.6', 'probes to the pod IP leave from the capture-exempt passthrough source');
    assert.equal((await get(stats, '/app-health/web/livez')).status, 200, 'tcpSocket connects');
    assert.equal((await get(stats, '/app-health/web/startupz')).status, 200, 'grpc health SERVING');
    assert.equal((await get(stats, '/app-health/tls/readyz')).status, 200, 'HTTPS probe, certificate not verified, 204 healthy');
    assert.equal((await get(stats, '/app-health/other/readyz')).status, 404, 'no prober registered');

    const merged = await get(stats, '/stats/prometheus');
    assert.equal(merged.status, 200);
    assert.match(merged.body, /^shop_orders_total 7$/m, "15020 carries the app's metrics (Istio's metrics merging)");
    assert.doesNotMatch((await get(proxy.ports['envoy prometheus'], '/stats/prometheus')).body, /shop_orders_total/, "15090 is Envoy's alone");

    appStatus = 500;
    assert.equal((await get(stats, '/app-health/web/readyz')).status, 503, 'app answers 500');
    grpcStatus = 2;
    assert.equal((await get(stats, '/app-health/web/startupz')).status, 503, 'grpc NOT_SERVING');
    await close(app);
    await close(tcpApp);
    assert.equal((await get(stats, '/app-health/web/readyz')).status, 503, 'app down');
    assert.equal((await get(stats, '/app-health/web/livez')).status, 503, 'nothing listens on the tcp port');
    const withoutApp = await get(stats, '/stats/prometheus');
    assert.equal(withoutApp.status, 200, "the proxy's metrics are served while the app is down");
    assert.doesNotMatch(withoutApp.body, /shop_orders_total/);
    // The status port is not the admin port: the rewritten paths exist only there.
    assert.equal((await get(proxy.ports.health, '/app-health/web/readyz')).status, 404);

    const prom = await get(proxy.ports['envoy prometheus'], '/stats/prometheus');
    assert.equal(prom.status, 200);
    assert.match(prom.body, /^# TYPE envoy_server_live gauge\nenvoy_server_live 0$/m, 'not LIVE: the control plane never answered');
    assert.match(prom.body, /^envoy_server_state 3$/m, 'INITIALIZING, in Envoy\'s numbering');
    assert.match(prom.body, /^envoy_server_memory_physical_size [1-9]\d*$/m);
    assert.equal((await get(proxy.ports['envoy prometheus'], '/healthz/ready')).status, 404, '15090 serves stats only');
  } finally {
    await stop(proxy);
    for (const s of [app, tcpApp, controlPlane, tlsApp]) if (s.listening) await close(s);
    await close(grpcApp);
    rmSync(caDir, { recursive: true, force: true });
  }
});

test('a malformed ISTIO_KUBE_APP_PROBERS stops the proxy with the reason, not a stack trace', { timeout: 60_000 }, async () => {
  const child = spawn(BIN, ['proxy', '--discovery-address', '127.0.0.1:1', '--admin-port', '0', '--health-port', '0', '--envoy-prom-port', '0', '--stats-port', '0'], {
    env: { ...process.env, ...POD_ENV, ISTIO_KUBE_APP_PROBERS: '{"/app-health/web/readyz": {"httpGet": {"port": "http"}}}' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 1);
  assert.match(err, /ISTIO_KUBE_APP_PROBERS\["\/app-health\/web\/readyz"\]\.httpGet\.port/);
  assert.doesNotMatch(err, /\n\s+at /);
});

function runWait(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(BIN, ['wait', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

test('sailfin wait returns once the proxy becomes ready, and fails after its timeout when it never does', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-wait-'));
  const controlPlane = net.createServer((s) => s.destroy());
  const cpPort = await listen(controlPlane);
  let notReady: Started | undefined;
  let ready: Started | undefined;
  try {
    // A sidecar whose control plane never answers stays INITIALIZING: /healthz/ready is 503.
    notReady = await startProxy(['--discovery-address', `127.0.0.1:${cpPort}`, '--admin-port', '0', '--health-port', '0', '--stats-port', '0', '--envoy-prom-port', '0', '--health-address', '127.0.0.1'], POD_ENV);
    const failed = await runWait(['--url', `http://127.0.0.1:${notReady.ports.health}/healthz/ready`, '--timeout-seconds', '1', '--period-millis', '100']);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /not ready at .* within 1 s \(last answer HTTP 503\)/);

    // A port nothing listens on yet: wait keeps polling, and returns once a proxy serves it ready.
    const probe = net.createServer();
    const port = await listen(probe);
    await close(probe);
    const waiting = runWait(['--url', `http://127.0.0.1:${port}/healthz/ready`, '--timeout-seconds', '60', '--period-millis', '100']);
    let exited = false;
    void waiting.then(() => (exited = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(exited, false, 'wait must not return before anything is ready');
    const bootstrap = join(dir, 'bootstrap.json');
    writeFileSync(bootstrap, JSON.stringify({ node: { id: 'sidecar~10.0.0.1~web.shop~shop.svc.cluster.local', cluster: 'web.shop' }, static_resources: {} }));
    ready = await startProxy(['--config', bootstrap, '--health-port', String(port), '--health-address', '127.0.0.1'], {});
    const done = await waiting;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /proxy ready/);
  } finally {
    await stop(notReady);
    await stop(ready);
    await close(controlPlane);
    rmSync(dir, { recursive: true, force: true });
  }
});
