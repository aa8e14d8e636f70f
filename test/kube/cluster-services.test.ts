/**
 * The leader's writes of shared cluster state (root-cert ConfigMaps, the shared CA Secret) against the
 * stand-in API server (test/kube/fake-api-server.ts; no real API server can run here): a burst of
 * namespace events while a write round runs costs one more round, not one round per event, and every
 * namespace still gets its root certificate.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MeshCa } from '../../src/ca/mesh-ca.js';
import { ConfigStore } from '../../src/config/store.js';
import { ClusterServices } from '../../src/kube/cluster-services.js';
import { FakeApiServer } from './fake-api-server.js';
import { standInKubeConfig } from './kubeconfig.js';

const CONFIGMAPS = '/api/v1/configmaps';

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const namespace = (name: string) => ({ resource: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, source: { file: `k8s://Namespace//${name}` } });

test('namespace events during a write round merge into one more round', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-cluster-services-'));
  const api = new FakeApiServer();
  const server = await api.start();
  const ca = await MeshCa.start({ stateDir: dir });
  const store = new ConfigStore();
  store.apply([namespace('default')]);
  const logs: string[] = [];
  const services = new ClusterServices({ kc: standInKubeConfig(server), store, ca, namespace: 'istio-system', resyncMs: 600_000, log: (m) => logs.push(m) });
  try {
    // Each round starts by offering the self-signed CA as cacerts (the store never sees the Secret
    // here, so every round asks): POSTs of that Secret count the rounds.
    const rounds = () => api.requests.filter((r) => r === 'POST /api/v1/namespaces/istio-system/secrets').length;
    await services.start();
    const names = Array.from({ length: 30 }, (_, i) => `team-${i}`);
    for (const name of names) store.apply([namespace(name)]); // 30 store changes, each a sync request
    await until('every namespace to get its root cert', () => names.every((n) => api.get(CONFIGMAPS, n, 'istio-ca-root-cert') !== undefined));
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(rounds() <= 3, `${rounds()} write rounds for 1 start + 30 namespace events`);
    assert.ok(api.get(CONFIGMAPS, 'default', 'istio-ca-root-cert'));
    assert.equal(logs.filter((l) => l.startsWith('published istio-ca-root-cert in team-29')).length, 1, 'published once, by whichever round came first');
  } finally {
    await services.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
