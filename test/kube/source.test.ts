/**
 * The Kubernetes source against a stand-in API server (test/kube/fake-api-server.ts; no real API
 * server can run here): list, watch, bookmarks, dropped connections, 410 Gone and relist, and that the
 * registry fed by watch events equals the registry built by the file source from the same objects.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadTexts } from '../../src/config/loader.js';
import { ConfigStore } from '../../src/config/store.js';
import { registryFromConfig } from '../../src/registry/from-config.js';
import { ServiceRegistry } from '../../src/registry/service-registry.js';
import { KubeSource } from '../../src/kube/source.js';
import { FakeApiServer, type StoredObject } from './fake-api-server.js';
import { startWatchedSource } from './kubeconfig.js';

const NS = '/api/v1/namespaces';
const SVC = '/api/v1/services';
const PODS = '/api/v1/pods';
const VS = '/apis/networking.istio.io/v1/virtualservices';
const DR = '/apis/networking.istio.io/v1/destinationrules';

function pod(name: string, version: string, ip: string): StoredObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'reviews', version } },
    spec: { serviceAccountName: 'bookinfo-reviews', containers: [{ name: 'reviews', image: 'reviews', ports: [{ containerPort: 9080 }] }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function service(name: string, clusterIP: string, port: number): StoredObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { clusterIP, selector: { app: name }, ports: [{ name: 'http', port, targetPort: 9080 }] },
  };
}

const namespace: StoredObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'istio-injection': 'enabled' } } };
const rule: StoredObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: 'reviews', namespace: 'default' },
  spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] },
};
const route: StoredObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'reviews', namespace: 'default' },
  spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] },
};

/** The registry as comparable data: services, their endpoints per port, and pods; origins left out. */
function fingerprint(registry: ServiceRegistry): unknown {
  const strip = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'source' || k === 'origin' ? undefined : x)));
  return strip({
    services: registry.services().map((s) => ({ service: s, endpoints: s.ports.map((p) => registry.endpoints(s.hostname, p.port)) })),
    pods: [...registry.allPods()].sort((a, b) => a.name.localeCompare(b.name)),
  });
}

function fileRegistry(objects: StoredObject[]): unknown {
  const text = objects.map((o) => JSON.stringify(o)).join('\n---\n');
  const loaded = loadTexts([{ file: 'objects.yaml', text }]);
  assert.deepEqual(loaded.messages.filter((m) => m.type.level === 'Error'), []);
  return fingerprint(registryFromConfig(loaded.resources));
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let api: FakeApiServer;
let source: KubeSource;
const store = new ConfigStore();
const registry = new ServiceRegistry();
const logs: string[] = [];

before(async () => {
  api = new FakeApiServer();
  const server = await api.start();
  api.put(NS, namespace);
  api.put(SVC, service('reviews', '10.96.0.10', 9080));
  // Three pods and a page size of two: the first list takes two pages.
  api.put(PODS, pod('reviews-v1', 'v1', '10.244.0.5'));
  api.put(PODS, pod('reviews-v2', 'v2', '10.244.0.6'));
  api.put(PODS, { ...pod('reviews-pending', 'v2', ''), status: { phase: 'Pending' } });
  api.put(DR, rule);
  api.put(VS, route);
  source = await startWatchedSource(server, store, registry, { pageSize: 2, log: (m) => logs.push(m) });
}, { timeout: 20_000 });

after(async () => {
  source?.stop();
  await api?.close();
}, { timeout: 10_000 });

test('the first list fills the store in pages and the registry equals the file source with the same objects', () => {
  assert.ok(api.requests.some((r) => r.startsWith(`GET ${PODS}?`) && r.includes('continue=2')), 'the pods were listed in two pages');
  assert.equal(store.get('Pod', 'default', 'reviews-pending'), undefined, 'a pod without an IP is not an endpoint yet');
  assert.equal(store.get('VirtualService', 'default', 'reviews')?.source.file, 'k8s://VirtualService/default/reviews');
  assert.equal(store.get('VirtualService', 'default', 'reviews')?.resource.apiVersion, 'networking.istio.io/v1');
  assert.deepEqual(fingerprint(registry), fileRegistry([namespace, service('reviews', '10.96.0.10', 9080), pod('reviews-v1', 'v1', '10.244.0.5'), pod('reviews-v2', 'v2', '10.244.0.6'), rule, route]));
});

test('watch events, bookmarks, a dropped connection and a 410 Gone keep the registry equal to the file source', { timeout: 20_000 }, async () => {
  const pods = source.reflectors.find((r) => r.resource.kind === 'Pod')!;
  const services = source.reflectors.find((r) => r.resource.kind === 'Service')!;
  await waitFor('every watch to be open', () => api.openWatches === source.reflectors.length);

  // Watch events: a pod gets its IP, a service changes port, a route is deleted.
  api.put(PODS, pod('reviews-pending', 'v2', '10.244.0.7'));
  api.put(SVC, service('reviews', '10.96.0.10', 9081));
  api.remove(VS, 'default', 'reviews');
  await waitFor('the watch events', () => store.get('Pod', 'default', 'reviews-pending') !== undefined && store.get('VirtualService', 'default', 'reviews') === undefined && registry.services()[0]?.ports[0]?.port === 9081);

  // Bookmarks move the resume point without touching the store.
  const size = store.size;
  api.put('/api/v1/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: 'default' }, data: {} });
  api.bookmark();
  await waitFor('a bookmark', () => pods.stats.bookmarks > 0 && pods.lastResourceVersion === api.resourceVersion);
  assert.equal(store.size, size, 'the ConfigMap field selector keeps other ConfigMaps out');

  // A dropped connection resumes the watch from the last version: no relist, nothing lost.
  const listsBefore = pods.stats.lists;
  api.dropWatches();
  api.remove(PODS, 'default', 'reviews-v2');
  await waitFor('the resumed watch', () => store.get('Pod', 'default', 'reviews-v2') === undefined);
  assert.equal(pods.stats.lists, listsBefore, 'a resumed watch does not list again');
  assert.ok(api.requests.some((r) => r.includes('watch=true') && r.includes(`resourceVersion=${Number(api.resourceVersion) - 1}`)));

  // Compaction while disconnected: the resume answers 410 Gone, so the source lists again and
  // notices the deletion it never saw as an event.
  await waitFor('every watch to be open again', () => api.openWatches === source.reflectors.length);
  api.dropWatches();
  api.compact();
  await waitFor('the relist after 410', () => services.stats.gone > 0 && services.stats.lists === 2);
  api.dropWatches();
  api.remove(DR, 'default', 'reviews');
  api.compact();
  await waitFor('the DestinationRule deletion seen by a relist', () => store.get('DestinationRule', 'default', 'reviews') === undefined);
  assert.ok(logs.some((l) => l.includes('410 Gone')));

  assert.deepEqual(fingerprint(registry), fileRegistry([namespace, service('reviews', '10.96.0.10', 9081), pod('reviews-v1', 'v1', '10.244.0.5'), pod('reviews-pending', 'v2', '10.244.0.7')]));

  // A pod that lost its address while the watch was gone is dropped by the relist, not kept stale.
  await waitFor('every watch to be open once more', () => api.openWatches === source.reflectors.length);
  const podLists = pods.stats.lists;
  api.dropWatches();
  api.put(PODS, { ...pod('reviews-pending', 'v2', ''), status: { phase: 'Pending' } });
  api.compact();
  await waitFor('the pod relist', () => pods.stats.lists > podLists);
  assert.equal(store.get('Pod', 'default', 'reviews-pending'), undefined);
  assert.ok(store.get('Pod', 'default', 'reviews-v1'));
});

test('an invalid object is refused alone; the rest of the stream still applies', { timeout: 20_000 }, async () => {
  api.put(VS, { ...route, metadata: { name: 'broken', namespace: 'default' }, spec: { hosts: [], http: [{ route: [] }] } });
  api.put(VS, route);
  await waitFor('the valid route', () => store.get('VirtualService', 'default', 'reviews') !== undefined);
  assert.equal(store.get('VirtualService', 'default', 'broken'), undefined);
  assert.ok(logs.some((l) => l.includes('k8s://VirtualService/default/broken refused')));
});

test('two watches of one kind (the mesh and injector ConfigMaps): a relist of one leaves the other\'s object alone', { timeout: 20_000 }, async () => {
  const CM = '/api/v1/configmaps';
  const deleted: string[] = [];
  const off = store.onChange((events) => {
    for (const e of events) if (e.type === 'delete') deleted.push(`${e.resource.resource.kind}/${e.resource.resource.metadata.name}`);
  });
  try {
    api.put(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'trustDomain: cluster.local\n' } });
    api.put(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-sidecar-injector', namespace: 'istio-system' }, data: { config: 'policy: enabled\n' } });
    await waitFor('both ConfigMaps', () => !!store.get('ConfigMap', 'istio-system', 'istio') && !!store.get('ConfigMap', 'istio-system', 'istio-sidecar-injector'));
    const configMaps = source.reflectors.filter((r) => r.resource.kind === 'ConfigMap');
    assert.equal(configMaps.length, 2);
    const lists = configMaps.map((r) => r.stats.lists);
    await waitFor('every watch to be open', () => api.openWatches === source.reflectors.length);
    api.dropWatches();
    api.put(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later', namespace: 'default' }, data: {} }); // both watches now resume from before the compaction
    api.compact();
    await waitFor('both ConfigMap relists', () => configMaps.every((r, i) => r.stats.lists > lists[i]!));
    assert.deepEqual(deleted.filter((d) => d.startsWith('ConfigMap/')), []);
    assert.ok(store.get('ConfigMap', 'istio-system', 'istio-sidecar-injector'));
  } finally {
    off();
  }
});
