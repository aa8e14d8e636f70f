/**
 * EndpointSlices through the Kubernetes source, against the stand-in API server (test/kube/fake-api-server.ts;
 * no real API server can run here, so this local server follows the list/watch protocol in its place):
 * a Service without a selector gets its endpoints from its slices as watch events add, change and delete
 * them; a 410 Gone relist gives the same registry; and at every step the registry equals the one the
 * file source builds from the same objects. Slices the endpoint controller writes for selector Services
 * are left out by a label selector on the list and watch.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadTexts } from '../../src/config/loader.js';
import { ConfigStore } from '../../src/config/store.js';
import { validateBatch } from '../../src/config/validate.js';
import { KubeSource } from '../../src/kube/source.js';
import { buildLoadAssignment } from '../../src/pilot/endpoints/load-assignment.js';
import { registryFromConfig } from '../../src/registry/from-config.js';
import { ServiceRegistry } from '../../src/registry/service-registry.js';
import { FakeApiServer, type StoredObject } from './fake-api-server.js';
import { startWatchedSource } from './kubeconfig.js';

const SVC = '/api/v1/services';
const PODS = '/api/v1/pods';
const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
const HOST = 'db.default.svc.cluster.local';
const CLUSTER = `outbound|5432||${HOST}`;

const db: StoredObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: '10.96.0.30', ports: [{ name: 'tcp', port: 5432 }] } };
const web: StoredObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.31', selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } };
const dbPod: StoredObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'db-0', namespace: 'default', labels: { app: 'db', version: 'v1' } },
  spec: { serviceAccountName: 'postgres', containers: [{ name: 'db', image: 'postgres' }] },
  status: { phase: 'Running', podIP: '10.244.1.7', conditions: [{ type: 'Ready', status: 'True' }] },
};
const webPod: StoredObject = { ...dbPod, metadata: { name: 'web-0', namespace: 'default', labels: { app: 'web' } }, status: { phase: 'Running', podIP: '10.244.1.8' } };

type Endpoint = { addresses: string[]; conditions?: { ready?: boolean }; zone?: string; targetRef?: { kind: string; name: string; namespace: string } };

function slice(name: string, endpoints: Endpoint[], labels: Record<string, string> = {}): StoredObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': 'db', ...labels } },
    addressType: 'IPv4',
    endpoints,
    ports: [{ name: 'tcp', port: 5432, protocol: 'TCP' }],
  };
}

const first = slice('db-abc', [{ addresses: ['10.244.1.7'], zone: 'zone-a', targetRef: { kind: 'Pod', name: 'db-0', namespace: 'default' } }]);
/** What the endpoint controller writes for `web`: repeats the pod, and must not be read. */
const managed: StoredObject = {
  ...slice('web-xyz', [{ addresses: ['10.244.1.8'] }], { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }),
  metadata: { name: 'web-xyz', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
};

/** The registry as comparable data: services and their endpoints per port, origins left out. */
function fingerprint(registry: ServiceRegistry): unknown {
  const strip = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'source' || k === 'origin' ? undefined : x)));
  return strip(registry.services().map((s) => ({ service: s, endpoints: s.ports.map((p) => registry.endpoints(s.hostname, p.port)) })));
}

function fileRegistry(objects: StoredObject[]): unknown {
  const loaded = loadTexts([{ file: 'objects.yaml', text: objects.map((o) => JSON.stringify(o)).join('\n---\n') }]);
  assert.deepEqual([...loaded.messages, ...validateBatch(loaded.resources)].filter((m) => m.type.level === 'Error'), []);
  return fingerprint(registryFromConfig(loaded.resources));
}

/** The EDS answer a proxy would get for the db cluster: `address:port HEALTH zone` per endpoint. */
function eds(): string[] {
  const cla = buildLoadAssignment(CLUSTER, registry.endpoints(HOST, 5432), undefined, { outlierDetection: false }) as {
    endpoints: Array<{ locality?: { zone?: string }; lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string; port_value: number } } }; health_status: string }> }>;
  };
  return cla.endpoints
    .flatMap((g) => g.lb_endpoints.map((e) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value} ${e.health_status} ${g.locality?.zone ?? ''}`.trim()))
    .sort();
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; EDS now ${JSON.stringify(eds())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let api: FakeApiServer;
let source: KubeSource;
const store = new ConfigStore();
const registry = new ServiceRegistry();

before(async () => {
  api = new FakeApiServer();
  const server = await api.start();
  for (const [path, o] of [[SVC, db], [SVC, web], [PODS, dbPod], [PODS, webPod], [SLICES, first], [SLICES, managed]] as const) api.put(path, o);
  source = await startWatchedSource(server, store, registry);
}, { timeout: 20_000 });

after(async () => {
  source?.stop();
  await api?.close();
}, { timeout: 10_000 });

test('a selector-less Service gets its endpoints from its slices; controller-made slices are not read', () => {
  assert.deepEqual(eds(), ['10.244.1.7:5432 HEALTHY zone-a']);
  const e = registry.endpoints(HOST, 5432)[0]!;
  assert.deepEqual(e.labels, { app: 'db', version: 'v1' }, 'the targetRef pod lends its labels');
  assert.equal(e.serviceAccount, 'spiffe://cluster.local/ns/default/sa/postgres');
  assert.equal(store.get('EndpointSlice', 'default', 'web-xyz'), undefined, 'the managed slice was filtered by the API server');
  assert.ok(api.requests.some((r) => r.startsWith(`GET ${SLICES}?`) && r.includes('labelSelector=endpointslice.kubernetes.io%2Fmanaged-by%21%3Dendpointslice-controller.k8s.io')));
  assert.deepEqual(registry.endpoints('web.default.svc.cluster.local', 80).map((x) => x.address), ['10.244.1.8'], 'the selector service keeps its pod, once');
  assert.deepEqual(fingerprint(registry), fileRegistry([db, web, dbPod, webPod, first, managed]));
});

test('watch events change, add and delete slice endpoints; a 410 relist gives the same registry', { timeout: 20_000 }, async () => {
  const slices = source.reflectors.find((r) => r.resource.kind === 'EndpointSlice')!;
  await waitFor('every watch to be open', () => api.openWatches === source.reflectors.length);

  // The pod's address goes not ready and a second address (outside the cluster, no targetRef) joins.
  const changed = slice('db-abc', [
    { addresses: ['10.244.1.7'], zone: 'zone-a', conditions: { ready: false }, targetRef: { kind: 'Pod', name: 'db-0', namespace: 'default' } },
    { addresses: ['192.0.2.10'], zone: 'zone-b' },
  ]);
  api.put(SLICES, changed);
  await waitFor('the changed slice', () => eds().length === 2);
  assert.deepEqual(eds(), ['10.244.1.7:5432 UNHEALTHY zone-a', '192.0.2.10:5432 HEALTHY zone-b']);

  // A second slice of the same service adds to the first.
  const second = slice('db-def', [{ addresses: ['192.0.2.11'] }]);
  api.put(SLICES, second);
  await waitFor('the second slice', () => eds().length === 3);
  assert.deepEqual(fingerprint(registry), fileRegistry([db, web, dbPod, webPod, changed, second]));

  // The endpoint controller taking a slice over moves it out of the watch's selection: a DELETED event.
  api.put(SLICES, { ...second, metadata: { ...second.metadata, labels: { ...(second.metadata.labels as object), 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } } });
  await waitFor('the slice leaving the selection', () => eds().length === 2);
  assert.equal(store.get('EndpointSlice', 'default', 'db-def'), undefined);

  // A deleted slice takes its endpoints along.
  api.remove(SLICES, 'default', 'db-abc');
  await waitFor('the deleted slice', () => eds().length === 0);
  assert.deepEqual(registry.endpoints(HOST, 5432), []);

  // While disconnected: the slice comes back and the history is compacted; the resume answers 410 Gone,
  // and the relist brings the registry to what the file source builds from the same objects.
  const lists = slices.stats.lists;
  api.dropWatches();
  api.put(SLICES, first);
  api.compact();
  await waitFor('the relist after 410', () => slices.stats.gone > 0 && slices.stats.lists > lists && eds().length === 1);
  assert.deepEqual(eds(), ['10.244.1.7:5432 HEALTHY zone-a']);
  assert.deepEqual(fingerprint(registry), fileRegistry([db, web, dbPod, webPod, first, managed]));
});
