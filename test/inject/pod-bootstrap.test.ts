/**
 * An injected sidecar's bootstrap from pod metadata: `sailfin proxy` without --config, given the env
 * the injector sets (downward API values written here by hand, as the kubelet would) and the labels
 * file, starts with Istio's node identity and dials the control plane address it was given.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDownwardApiLabels, podBootstrapFromEnv } from '../../src/inject/pod-bootstrap.js';

const BIN = new URL('../../../bin/sailfin', import.meta.url).pathname;

const ENV = {
  POD_NAME: 'reviews-v2-5b64c-x7k2p',
  POD_NAMESPACE: 'bookinfo',
  INSTANCE_IP: '10.244.1.7',
  SERVICE_ACCOUNT: 'bookinfo-reviews',
  ISTIO_META_WORKLOAD_NAME: 'reviews-v2',
  ISTIO_META_CLUSTER_ID: 'Kubernetes',
  ISTIO_META_APP_CONTAINERS: 'reviews',
};

test('the downward API labels file and pod env become the node identity and metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-podinfo-'));
  try {
    const labelsFile = join(dir, 'labels');
    writeFileSync(labelsFile, 'app="reviews"\nversion="v2"\npod-template-hash="5b64c"\nnote="a \\"quoted\\" value"\n');
    assert.deepEqual(parseDownwardApiLabels('app="reviews"\nnote="a \\"quoted\\" value"'), { app: 'reviews', note: 'a "quoted" value' });
    const b = podBootstrapFromEnv(ENV, { type: 'sidecar', discoveryAddress: 'istiod.istio-system.svc:15010', labelsFile }) as any;
    assert.equal(b.node.id, 'sidecar~10.244.1.7~reviews-v2-5b64c-x7k2p.bookinfo~bookinfo.svc.cluster.local');
    assert.equal(b.node.metadata.NAMESPACE, 'bookinfo');
    assert.equal(b.node.metadata.SERVICE_ACCOUNT, 'bookinfo-reviews');
    assert.equal(b.node.metadata.LABELS.version, 'v2');
    assert.equal(b.node.metadata.WORKLOAD_NAME, 'reviews-v2');
    assert.equal(b.node.metadata.APP_CONTAINERS, 'reviews');
    const xds = b.static_resources.clusters[0];
    assert.equal(xds.type, 'STRICT_DNS', 'a Service name is resolved by DNS');
    assert.equal(xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, 'istiod.istio-system.svc');
    assert.throws(() => podBootstrapFromEnv({ ...ENV, INSTANCE_IP: '' }, { type: 'sidecar', discoveryAddress: 'x:1' }), /INSTANCE_IP is not set/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sailfin proxy without --config starts from the pod env and dials the control plane', { timeout: 60_000 }, async () => {
  let dialed = 0;
  const controlPlane = net.createServer((s) => {
    dialed++;
    s.destroy();
  });
  await new Promise<void>((r) => controlPlane.listen(0, '127.0.0.1', r));
  const cpPort = (controlPlane.address() as net.AddressInfo).port;
  const child = spawn(BIN, ['proxy', '--discovery-address', `127.0.0.1:${cpPort}`, '--admin-port', '0', '--envoy-prom-port', '0'], { env: { ...process.env, ...ENV }, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    let err = '';
    const adminPort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`proxy did not start: ${err}`)), 45_000);
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        const m = /admin listening on (\d+)/.exec(err);
        if (m && err.includes('ready')) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once('exit', (code) => reject(new Error(`proxy exited ${code}: ${err}`)));
    });
    const info = await new Promise<any>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: adminPort, path: '/server_info', timeout: 10_000 }, (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve(JSON.parse(t)));
      }).on('error', reject);
    });
    assert.match(JSON.stringify(info), /sidecar~10\.244\.1\.7~reviews-v2-5b64c-x7k2p\.bookinfo~bookinfo\.svc\.cluster\.local/);
    const deadline = Date.now() + 20_000;
    while (dialed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(dialed > 0, 'the proxy dialed the --discovery-address');
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    await new Promise((r) => controlPlane.close(r));
  }
});
