/**
 * `sailfin discovery --kubeconfig FILE` against the stand-in API server (test/kube/fake-api-server.ts;
 * no real API server can run here): the control plane starts from what the API server lists and
 * serves it, and as the elected leader writes the webhook's caBundle and the namespaces' root-cert
 * ConfigMaps, while its injection webhook answers AdmissionReviews over TLS that caBundle verifies.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import https from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FakeApiServer } from './fake-api-server.js';

const BIN = new URL('../../../bin/sailfin', import.meta.url).pathname;

test('discovery --kubeconfig serves the objects the API server lists', { timeout: 90_000 }, async () => {
  const api = new FakeApiServer();
  const server = await api.start();
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-kube-'));
  api.put('/api/v1/services', { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.20', selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } });
  api.put('/api/v1/namespaces', { metadata: { name: 'bookinfo', labels: { 'istio-injection': 'enabled' } } });
  api.put('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
    metadata: { name: 'istio-sidecar-injector' },
    webhooks: [{ name: 'namespace.sidecar-injector.istio.io', clientConfig: { service: { name: 'istiod', namespace: 'istio-system', path: '/inject', port: 443 } } }],
  });
  api.put('/apis/networking.istio.io/v1/virtualservices', { metadata: { name: 'web', namespace: 'default' }, spec: { hosts: ['web'], http: [{ route: [{ destination: { host: 'web' } }] }] } });
  const kubeconfig = join(dir, 'config');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'stand-in', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'tester', user: { token: 'not-checked' } }],
      contexts: [{ name: 'test', context: { cluster: 'stand-in', user: 'tester' } }],
      'current-context': 'test',
    }),
  );
  const child = spawn(BIN, ['discovery', '--kubeconfig', kubeconfig, '--host', '127.0.0.1', '--port', '0', '--monitoring-port', '0', '--ca-port', '0', '--webhook-port', '0', '--ca-state-dir', join(dir, 'ca'), '--proxy-image', 'example/sailfin:3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start-up line; stdout: ${out} stderr: ${err.slice(0, 2000)}`)), 45_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out);
        }
      });
      child.once('exit', (code) => reject(new Error(`discovery exited ${code}: ${err}`)));
    });
    assert.match(line, /3 objects from the Kubernetes API/);
    const webhookPort = Number(/injection webhook on [\d.]+:(\d+)/.exec(line)?.[1]);
    assert.ok(webhookPort > 0, line);
    const until = async (what: string, check: () => boolean) => {
      const end = Date.now() + 20_000;
      while (!check()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stderr: ${err.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const webhookConfig = () => api.get('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', undefined, 'istio-sidecar-injector') as unknown as { webhooks: { clientConfig: { caBundle?: string } }[] };
    await until('the leader to write caBundle', () => !!webhookConfig().webhooks[0].clientConfig.caBundle);
    await until('the root cert ConfigMap', () => !!api.get('/api/v1/configmaps', 'bookinfo', 'istio-ca-root-cert'));
    assert.ok(api.get('/apis/coordination.k8s.io/v1/leases', 'istio-system', 'istio-leader'), 'leader elected through a Lease');
    const caBundle = Buffer.from(webhookConfig().webhooks[0].clientConfig.caBundle!, 'base64').toString('utf8');
    const rootCm = api.get('/api/v1/configmaps', 'bookinfo', 'istio-ca-root-cert') as unknown as { data: Record<string, string> };
    assert.equal(rootCm.data['root-cert.pem'], caBundle);
    const reviewBody = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'bookinfo', operation: 'CREATE', object: { metadata: { name: 'p', labels: { app: 'p' } }, spec: { containers: [{ name: 'app', image: 'app' }] } } },
    });
    const answer = await new Promise<{ response: { allowed: boolean; patch?: string } }>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: webhookPort, path: '/inject', method: 'POST', ca: caBundle, servername: 'istiod.istio-system.svc', headers: { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve(JSON.parse(t)));
      });
      req.on('error', reject);
      req.end(reviewBody);
    });
    assert.equal(answer.response.allowed, true);
    const patch = Buffer.from(answer.response.patch ?? '', 'base64').toString('utf8');
    assert.match(patch, /example\/sailfin:3/, 'namespace labels from the watched Namespace select the pod; the flag sets the image');
    const deadline = Date.now() + 10_000;
    const watching = () => api.requests.some((r) => r.includes('/apis/networking.istio.io/v1/virtualservices') && r.includes('watch=true'));
    while (!watching() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(watching(), 'the control plane watches after listing');
  } finally {
    child.kill('SIGKILL'); // SIGTERM's clean shutdown is exercised by the CLI tests; here only the source matters
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
