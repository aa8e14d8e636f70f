/**
 * `sailfin discovery --kubeconfig FILE` against the stand-in API server (test/kube/fake-api-server.ts):
 * the control plane starts from what the API server lists and serves it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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
  const child = spawn(BIN, ['discovery', '--kubeconfig', kubeconfig, '--host', '127.0.0.1', '--port', '0', '--monitoring-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    assert.match(line, /2 objects from the Kubernetes API/);
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
