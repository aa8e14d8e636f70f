/**
 * Periodic resync: an event the watch never delivered (the stand-in API server below changes an
 * object without announcing it) is healed by the next relist. FakeApiServer stands in for the
 * Kubernetes API server, which cannot run on this machine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigStore } from '../../src/config/store.js';
import { ServiceRegistry } from '../../src/registry/service-registry.js';
import { FakeApiServer, type StoredObject } from './fake-api-server.js';
import { startWatchedSource } from './kubeconfig.js';

const SVC = '/api/v1/services';
const service = (clusterIP: string): StoredObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'ratings', namespace: 'default' },
  spec: { clusterIP, selector: { app: 'ratings' }, ports: [{ name: 'http', port: 9080 }] },
});

function clusterIpIn(store: ConfigStore): unknown {
  return (store.get('Service', 'default', 'ratings')?.resource.spec as { clusterIP?: string } | undefined)?.clusterIP;
}

test('a change the watch never announced reaches the store at the next periodic resync', { timeout: 20_000 }, async (t) => {
  const api = new FakeApiServer();
  const server = await api.start();
  api.put(SVC, service('10.96.0.20'));
  const store = new ConfigStore();
  const source = await startWatchedSource(server, store, new ServiceRegistry(), { resyncSeconds: 0.5 });
  t.after(async () => {
    source.stop();
    await api.close();
  });
  assert.equal(clusterIpIn(store), '10.96.0.20');
  const listsBefore = api.requests.filter((r) => r.startsWith(`GET ${SVC}?`) && !r.includes('watch=')).length;
  api.putUnannounced(SVC, service('10.96.0.21'));
  const deadline = Date.now() + 10_000;
  while (clusterIpIn(store) !== '10.96.0.21') {
    if (Date.now() > deadline) throw new Error(`the resync never came: store still has ${String(clusterIpIn(store))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const listsAfter = api.requests.filter((r) => r.startsWith(`GET ${SVC}?`) && !r.includes('watch=')).length;
  assert.ok(listsAfter > listsBefore, 'healed by a list, not by a watch event');
});
