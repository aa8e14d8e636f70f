/**
 * EndpointSlices as the endpoints of Services without a selector: port matching by name, readiness,
 * zone and targetRef pods, incremental updates (slice and pod changes), and that a Service with a
 * selector keeps its endpoints from pods.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigEvent } from '../../src/config/events.js';
import type { LoadedResource } from '../../src/config/resource.js';
import { loadTexts } from '../../src/config/loader.js';
import { validateBatch } from '../../src/config/validate.js';
import { buildRegistry, ServiceRegistry } from '../../src/registry/service-registry.js';
import { pod, resource, service } from './helpers.js';

const HOST = 'db.default.svc.cluster.local';

interface SliceEndpointShape {
  addresses: string[];
  conditions?: { ready?: boolean };
  zone?: string;
  hostname?: string;
  targetRef?: { kind: string; name: string; namespace?: string };
}

function slice(name: string, svc: string, endpoints: SliceEndpointShape[], ports: Array<{ name?: string; port: number | null }> = [{ name: 'tcp', port: 5432 }], extra: Record<string, unknown> = {}): LoadedResource {
  return resource('discovery.k8s.io/v1', 'EndpointSlice', { name, labels: { 'kubernetes.io/service-name': svc } }, undefined, { addressType: 'IPv4', endpoints, ports, ...extra });
}

const db = service('db', { ports: [{ name: 'tcp', port: 5432 }, { name: 'metrics', port: 9187 }] });
const upsert = (...rs: LoadedResource[]): ConfigEvent[] => rs.map((resource) => ({ type: 'upsert', resource }));
const addrs = (r: ServiceRegistry, port = 5432) => r.endpoints(HOST, port).map((e) => `${e.address}:${e.port}${e.ready ? '' : ' (not ready)'}`);

describe('registry: EndpointSlices of Services without a selector', () => {
  it('takes addresses, ports by name, readiness and zone from the slices labelled with the service name', () => {
    const r = buildRegistry([
      db,
      slice('db-a', 'db', [{ addresses: ['10.1.0.1'], zone: 'z1' }, { addresses: ['10.1.0.2'], conditions: { ready: false } }], [{ name: 'tcp', port: 15432 }]),
      slice('db-b', 'db', [{ addresses: ['10.1.0.3'] }], [{ name: 'tcp', port: 5432 }, { name: 'metrics', port: 9187 }]),
      slice('other', 'web', [{ addresses: ['10.9.9.9'] }]),
    ]);
    assert.deepEqual(addrs(r), ['10.1.0.1:15432', '10.1.0.2:15432 (not ready)', '10.1.0.3:5432']);
    assert.deepEqual(addrs(r, 9187), ['10.1.0.3:9187'], 'only the slice naming the metrics port serves it');
    const first = r.endpoints(HOST, 5432)[0]!;
    assert.equal(first.locality.zone, 'z1');
    assert.equal(first.tlsMode, 'disabled');
    assert.deepEqual(first.labels, {});
    assert.deepEqual(r.instancesOf('10.1.0.3').map((i) => i.servicePort.port), [5432, 9187]);
  });

  it('an endpoint naming a known pod carries its labels, identity and TLS mode, and follows pod changes', () => {
    const r = new ServiceRegistry();
    const owner = pod('db-0', { labels: { app: 'db', version: 'v1' }, ip: '10.1.0.7', sa: 'postgres', annotations: { 'sidecar.istio.io/status': '{}' } });
    r.apply(upsert(db, slice('db-a', 'db', [{ addresses: ['10.1.0.7'], targetRef: { kind: 'Pod', name: 'db-0' } }]), owner));
    const e = r.endpoints(HOST, 5432)[0]!;
    assert.deepEqual(e.labels, { app: 'db', version: 'v1' });
    assert.equal(e.serviceAccount, 'spiffe://cluster.local/ns/default/sa/postgres');
    assert.deepEqual(e.workload, { kind: 'Pod', name: 'db-0', namespace: 'default' });
    assert.deepEqual(r.endpoints(HOST, 5432, { version: 'v1' }).length, 1);
    const events = r.apply(upsert(pod('db-0', { labels: { app: 'db', version: 'v2' }, ip: '10.1.0.7', sa: 'postgres' })));
    assert.deepEqual(events, [{ type: 'endpoints-changed', hostname: HOST }]);
    assert.deepEqual(r.endpoints(HOST, 5432)[0]!.labels, { app: 'db', version: 'v2' });
  });

  it('updates incrementally: slice changed, moved to another service, deleted; service arriving after its slice', () => {
    const r = new ServiceRegistry();
    const a = slice('db-a', 'db', [{ addresses: ['10.1.0.1'] }]);
    assert.deepEqual(r.apply(upsert(a)), [], 'a slice of an unknown service changes nothing yet');
    r.apply(upsert(db));
    assert.deepEqual(addrs(r), ['10.1.0.1:5432']);
    assert.deepEqual(r.apply(upsert(slice('db-a', 'db', [{ addresses: ['10.1.0.1'], conditions: { ready: false } }, { addresses: ['10.1.0.4'] }]))), [{ type: 'endpoints-changed', hostname: HOST }]);
    assert.deepEqual(addrs(r), ['10.1.0.1:5432 (not ready)', '10.1.0.4:5432']);
    r.apply(upsert(slice('db-a', 'web', [{ addresses: ['10.1.0.1'] }])));
    assert.deepEqual(addrs(r), [], 'relabelled to another service');
    r.apply(upsert(a));
    r.apply([{ type: 'delete', resource: a }]);
    assert.deepEqual(addrs(r), []);
  });

  it('a service with a selector keeps its pods and ignores slices; FQDN slices and null ports serve nothing', () => {
    const r = buildRegistry([
      service('db', { selector: { app: 'db' }, ports: [{ name: 'tcp', port: 5432 }] }),
      pod('db-0', { labels: { app: 'db' }, ip: '10.1.0.7' }),
      slice('db-a', 'db', [{ addresses: ['10.1.0.7'] }, { addresses: ['10.1.0.8'] }]),
      service('ext', { ports: [{ name: 'tcp', port: 5432 }] }),
      slice('ext-a', 'ext', [{ addresses: ['db.example.com'] }], [{ name: 'tcp', port: 5432 }], { addressType: 'FQDN' }),
      slice('ext-b', 'ext', [{ addresses: ['10.2.0.1'] }], [{ name: 'tcp', port: null }]),
    ]);
    assert.deepEqual(addrs(r), ['10.1.0.7:5432'], 'no double count from the controller-made slice');
    assert.deepEqual(r.endpoints('ext.default.svc.cluster.local', 5432), []);
  });

  it('an address in two slices is one endpoint, ready if either says so; headless endpoints get their hostname', () => {
    const r = buildRegistry([
      service('db', { clusterIP: 'None', ports: [{ name: 'tcp', port: 5432 }] }),
      slice('db-b', 'db', [{ addresses: ['10.1.0.1'], conditions: { ready: false } }]),
      slice('db-a', 'db', [{ addresses: ['10.1.0.1'], hostname: 'db-0' }]),
    ]);
    const eps = r.endpoints(HOST, 5432);
    assert.equal(eps.length, 1);
    assert.equal(eps[0]!.ready, true);
    assert.equal(eps[0]!.hostname, 'db-0.db.default.svc.cluster.local');
  });

  it('the loader accepts discovery.k8s.io/v1 EndpointSlices and refuses one without addresses', () => {
    const ok = loadTexts([{ file: 's.yaml', text: 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: db-a, labels: {kubernetes.io/service-name: db}}\naddressType: IPv4\nendpoints: [{addresses: [10.1.0.1]}]\nports: [{name: tcp, port: 5432}]\n' }]);
    assert.deepEqual([...ok.messages, ...validateBatch(ok.resources)].filter((m) => m.type.level !== 'Info'), []);
    assert.equal(ok.resources.length, 1);
    const bad = loadTexts([{ file: 's.yaml', text: 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: db-a}\naddressType: IPv5\nendpoints: [{addresses: []}]\n' }]);
    assert.deepEqual(validateBatch(bad.resources).filter((m) => m.type.level === 'Error').map((m) => m.field), ['addressType', 'endpoints[0].addresses']);
  });
});
