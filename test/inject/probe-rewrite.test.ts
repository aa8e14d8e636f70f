/**
 * Injection over real HTTPS AdmissionReviews (the test stands in for the API server: it POSTs the
 * review and applies the returned JSONPatch as the API server would) for Istio's probe rewriting
 * and holdApplicationUntilProxyStarts.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MeshCa } from '../../src/ca/mesh-ca.js';
import { applyPatch, type JsonPatchOp } from '../../src/inject/json-patch.js';
import type { Pod } from '../../src/inject/pod.js';
import { followMeshDefaults, injectValuesFor } from '../../src/inject/values.js';
import { WebhookServer, webhookDnsNames } from '../../src/inject/webhook-server.js';

const dir = mkdtempSync(join(tmpdir(), 'sailfin-probes-'));
let ca: MeshCa;
let server: WebhookServer;
let holding: WebhookServer;
/** The mesh config's defaultConfig as `sailfin discovery` reads it from the mesh ConfigMap. */
let meshDefaultConfig: Record<string, unknown> = { holdApplicationUntilProxyStarts: true };
const holdingValues = followMeshDefaults(injectValuesFor('istio-system'), () => meshDefaultConfig);

function admit(port: number, pod: Pod): Promise<{ ops: JsonPatchOp[]; pod: Pod }> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'shop', operation: 'CREATE', object: pod },
  });
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/inject', method: 'POST', ca: ca.rootsPem, servername: 'istiod.istio-system.svc', headers: { 'content-type': 'application/json' }, timeout: 10_000 },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          try {
            const review = JSON.parse(text) as { response: { allowed: boolean; patch?: string; status?: { message?: string } } };
            assert.equal(res.statusCode, 200, text);
            assert.equal(review.response.allowed, true, review.response.status?.message);
            const ops = JSON.parse(Buffer.from(review.response.patch ?? '', 'base64').toString('utf8') || '[]') as JsonPatchOp[];
            resolve({ ops, pod: applyPatch(pod, ops) });
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('webhook request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

function webPod(annotations: Record<string, string> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' }, annotations },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'web:1',
          ports: [{ name: 'http', containerPort: 8080 }, { name: 'grpc', containerPort: 9090 }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http', httpHeaders: [{ name: 'X-Probe', value: 'k' }] }, periodSeconds: 3, timeoutSeconds: 2 },
          livenessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 5 },
          startupProbe: { grpc: { port: 9090, service: 'web' }, failureThreshold: 30 },
        },
        { name: 'helper', image: 'helper:1', livenessProbe: { exec: { command: ['true'] } }, readinessProbe: { httpGet: { path: '/x', port: 'nope' } } },
      ],
    },
  };
}

const env = (p: Pod, name: string) => ((p.spec!.containers!.find((c) => c.name === 'istio-proxy')!.env as { name: string; value?: string }[]).find((e) => e.name === name))?.value;

before(async () => {
  ca = await MeshCa.start({ stateDir: dir });
  const common = { ca, host: '127.0.0.1', port: 0, dnsNames: webhookDnsNames('istio-system') };
  server = new WebhookServer({ ...common, values: injectValuesFor('istio-system') });
  holding = new WebhookServer({ ...common, values: holdingValues });
  await server.start();
  await holding.start();
});

after(async () => {
  await server.close();
  await holding.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('probe rewriting and start-up order (the test stands in for the API server)', { timeout: 60_000 }, () => {
  test('httpGet, tcpSocket and grpc probes go to /app-health/ on 15020, the originals into ISTIO_KUBE_APP_PROBERS', async () => {
    const { pod } = await admit(server.port, webPod());
    const [web, helper, proxy] = pod.spec!.containers!;
    assert.equal(proxy.name, 'istio-proxy', 'the proxy is last by default');
    assert.deepEqual(web.readinessProbe, { httpGet: { path: '/app-health/web/readyz', port: 15020, scheme: 'HTTP' }, periodSeconds: 3, timeoutSeconds: 2 });
    assert.deepEqual(web.livenessProbe, { httpGet: { path: '/app-health/web/livez', port: 15020, scheme: 'HTTP' }, initialDelaySeconds: 5 });
    assert.deepEqual(web.startupProbe, { httpGet: { path: '/app-health/web/startupz', port: 15020, scheme: 'HTTP' }, failureThreshold: 30 });
    assert.deepEqual(helper.livenessProbe, { exec: { command: ['true'] } }, 'exec probes are left alone');
    assert.deepEqual(helper.readinessProbe, { httpGet: { path: '/x', port: 'nope' } }, 'a port name the container lacks is left as written');
    assert.deepEqual(JSON.parse(env(pod, 'ISTIO_KUBE_APP_PROBERS')!), {
      '/app-health/web/readyz': { httpGet: { path: '/ready', port: 8080, httpHeaders: [{ name: 'X-Probe', value: 'k' }] }, timeoutSeconds: 2 },
      '/app-health/web/livez': { tcpSocket: { port: 8080 } },
      '/app-health/web/startupz': { grpc: { port: 9090, service: 'web' } },
    });
    assert.ok((proxy.ports as { containerPort: number }[]).some((p) => p.containerPort === 15090));
    assert.deepEqual((proxy.args as string[]).slice((proxy.args as string[]).indexOf('--envoy-prom-port'), (proxy.args as string[]).indexOf('--envoy-prom-port') + 2), ['--envoy-prom-port', '15090']);
    assert.equal(proxy.lifecycle, undefined, 'no postStart hook unless asked for');
  });

  test("an app's prometheus.io scrape annotations move to the proxy, which Prometheus now scrapes on 15020", async () => {
    const scraped = await admit(server.port, webPod({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9100', 'prometheus.io/path': '/m' }));
    const a = scraped.pod.metadata!.annotations!;
    assert.deepEqual([a['prometheus.io/scrape'], a['prometheus.io/port'], a['prometheus.io/path']], ['true', '15020', '/stats/prometheus']);
    assert.deepEqual(JSON.parse(env(scraped.pod, 'ISTIO_PROMETHEUS_ANNOTATIONS')!), { scrape: 'true', port: '9100', path: '/m' });
    const plain = await admit(server.port, webPod());
    assert.equal(plain.pod.metadata!.annotations!['prometheus.io/port'], '15020');
    assert.equal(env(plain.pod, 'ISTIO_PROMETHEUS_ANNOTATIONS'), undefined, 'nothing to merge');
    const optOut = await admit(server.port, webPod({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9100', 'prometheus.istio.io/merge-metrics': 'false' }));
    assert.equal(optOut.pod.metadata!.annotations!['prometheus.io/port'], '9100', 'merge-metrics=false leaves the app scraped directly');
    const off = await admit(server.port, webPod({ 'prometheus.io/scrape': 'false' }));
    assert.equal(off.pod.metadata!.annotations!['prometheus.io/scrape'], 'false', 'a pod that is not to be scraped stays so');
  });

  test('sidecar.istio.io/rewriteAppHTTPProbers: "false" keeps the probes as written', async () => {
    const original = webPod({ 'sidecar.istio.io/rewriteAppHTTPProbers': 'false' });
    const { pod } = await admit(server.port, original);
    assert.deepEqual(pod.spec!.containers![0], original.spec!.containers![0]);
    assert.equal(env(pod, 'ISTIO_KUBE_APP_PROBERS'), undefined);
    // An install that turned rewriting off (holding's values here) still rewrites a pod that asks.
    holdingValues.rewriteAppHTTPProbe = false;
    try {
      assert.equal(env((await admit(holding.port, webPod())).pod, 'ISTIO_KUBE_APP_PROBERS'), undefined, 'install default off');
      const asked = await admit(holding.port, webPod({ 'sidecar.istio.io/rewriteAppHTTPProbers': 'true' }));
      assert.ok(env(asked.pod, 'ISTIO_KUBE_APP_PROBERS'), 'the pod annotation wins');
    } finally {
      holdingValues.rewriteAppHTTPProbe = undefined;
    }
  });

  test('holdApplicationUntilProxyStarts puts the proxy first with a postStart `sailfin wait` (mesh default or pod annotation)', async () => {
    for (const [port, annotations, why] of [
      [holding.port, {}, 'mesh default config'],
      [server.port, { 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true' }, 'pod annotation'],
    ] as const) {
      const { ops, pod } = await admit(port, webPod(annotations));
      assert.deepEqual(pod.spec!.containers!.map((c) => c.name), ['istio-proxy', 'web', 'helper'], why);
      const containersOp = ops.find((o) => o.path === '/spec/containers');
      assert.ok(containersOp && containersOp.op === 'replace', `${why}: the patch replaces the container list so the proxy lands first`);
      const hook = (pod.spec!.containers![0].lifecycle as { postStart: { exec: { command: string[] } } }).postStart.exec.command;
      assert.deepEqual(hook, ['sailfin', 'wait', '--url', 'http://localhost:15021/healthz/ready'], why);
      assert.equal(pod.metadata!.annotations!['kubectl.kubernetes.io/default-container'], 'web', 'kubectl still defaults to the app');
    }
    const optOut = await admit(holding.port, webPod({ 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: false' }));
    assert.deepEqual(optOut.pod.spec!.containers!.map((c) => c.name), ['web', 'helper', 'istio-proxy'], 'the pod overrides the mesh default');
    meshDefaultConfig = {};
    const changed = await admit(holding.port, webPod());
    assert.deepEqual(changed.pod.spec!.containers!.map((c) => c.name), ['web', 'helper', 'istio-proxy'], 'a mesh config change applies to the next pod');
  });
});
