import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRegistry, ServiceRegistry } from '../../src/registry/service-registry.js';
import { ipv4ToNumber } from '../../src/registry/ip-allocator.js';
import { namespace, service, up } from './helpers.js';

const reviews = (ns = 'shop', extra: Record<string, unknown> = {}, annotations?: Record<string, string>) =>
  service('reviews', { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }], ...extra }, { namespace: ns, ...(annotations ? { annotations } : {}) });

describe('registry: Kubernetes services', () => {
  it('gives a service every Istio name: name, name.ns, name.ns.svc and the FQDN', () => {
    const r = buildRegistry([reviews()]);
    const svc = r.service('reviews.shop.svc.cluster.local')!;
    assert.deepEqual(svc.hostnames, ['reviews', 'reviews.shop', 'reviews.shop.svc', 'reviews.shop.svc.cluster.local']);
    assert.equal(svc.namespace, 'shop');
    assert.equal(svc.name, 'reviews');
    assert.equal(svc.source, 'kubernetes');
    assert.equal(svc.resolution, 'ClientSideLB');
    assert.equal(svc.origin?.file, 'test.yaml');
  });

  it('uses the configured cluster domain', () => {
    const r = buildRegistry([reviews()], { domainSuffix: 'corp.internal' });
    assert.ok(r.service('reviews.shop.svc.corp.internal'));
    assert.equal(r.service('reviews.shop.svc.cluster.local'), undefined);
  });

  it('allocates a VIP from 10.96.0.0/16, keeps a declared clusterIP, and none for headless', () => {
    const r = buildRegistry([
      reviews(),
      service('fixed', { clusterIP: '10.96.7.7', ports: [{ port: 80 }] }),
      service('db', { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'tcp', port: 5432 }] }),
    ]);
    const vip = r.service('reviews.shop.svc.cluster.local')!.addresses[0]!;
    const n = ipv4ToNumber(vip)!;
    assert.ok(n >= ipv4ToNumber('10.96.0.0')! && n <= ipv4ToNumber('10.96.255.255')!, vip);
    assert.deepEqual(r.service('fixed.default.svc.cluster.local')!.addresses, ['10.96.7.7']);
    const db = r.service('db.default.svc.cluster.local')!;
    assert.deepEqual(db.addresses, []);
    assert.equal(db.headless, true);
    assert.equal(db.resolution, 'Passthrough');
  });

  it('keeps VIPs stable across re-applies, and across a fresh registry fed in another order', () => {
    const objs = Array.from({ length: 30 }, (_, i) => service(`s${i}`, { ports: [{ port: 80 }] }));
    const a = new ServiceRegistry();
    a.apply(up(...objs));
    const before = a.services().map((s) => `${s.hostname}=${s.addresses[0]}`);
    assert.deepEqual(a.apply(up(...objs)), [], 're-applying the same objects changes nothing');
    assert.deepEqual(a.services().map((s) => `${s.hostname}=${s.addresses[0]}`), before);
    const b = buildRegistry([...objs].reverse());
    assert.deepEqual(b.services().map((s) => `${s.hostname}=${s.addresses[0]}`), before);
  });

  it('lets a declared clusterIP win over an allocation in the same batch and reports a clash', () => {
    const r = new ServiceRegistry();
    r.apply(up(service('a', { ports: [{ port: 80 }] })));
    const taken = r.service('a.default.svc.cluster.local')!.addresses[0]!;
    r.apply(up(service('b', { clusterIP: taken, ports: [{ port: 80 }] })));
    const b = r.service('b.default.svc.cluster.local')!.addresses[0]!;
    assert.notEqual(b, taken);
    assert.match(r.warnings().at(-1)!, /clusterIP .* already used by Service\/default\/a/);
  });

  it('decides each port’s protocol: appProtocol, then name prefix, then sniffing', () => {
    const r = buildRegistry([
      service('multi', {
        ports: [
          { name: 'web', port: 80, appProtocol: 'http' },
          { name: 'grpc-api', port: 81 },
          { name: 'tcp-db', port: 82 },
          { name: 'tls-x', port: 83 },
          { name: 'mongo', port: 84 },
          { name: 'redis-cache', port: 85 },
          { name: 'metrics', port: 86 },
          { port: 3306 },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
      }),
    ]);
    const ports = r.service('multi.default.svc.cluster.local')!.ports.map((p) => `${p.port}:${p.protocol}`);
    assert.deepEqual(ports, ['80:HTTP', '81:GRPC', '82:TCP', '83:TLS', '84:Mongo', '85:Redis', '86:auto', '3306:TCP', '53:UDP']);
  });

  it('keeps targetPort as written: a number or a container port name', () => {
    const r = buildRegistry([service('t', { ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'http-admin', port: 81, targetPort: 'admin' }, { port: 82 }] })]);
    assert.deepEqual(
      r.service('t.default.svc.cluster.local')!.ports.map((p) => p.targetPort),
      [8080, 'admin', undefined],
    );
  });

  it('applies exportTo from the networking.istio.io/exportTo annotation', () => {
    const r = buildRegistry([
      reviews('shop', {}, { 'networking.istio.io/exportTo': '.' }),
      service('ratings', { ports: [{ port: 80 }] }, { namespace: 'shop', annotations: { 'networking.istio.io/exportTo': 'shop, frontend' } }),
      service('details', { ports: [{ port: 80 }] }, { namespace: 'shop', annotations: { 'networking.istio.io/exportTo': '*' } }),
      service('hidden', { ports: [{ port: 80 }] }, { namespace: 'shop', annotations: { 'networking.istio.io/exportTo': '~' } }),
    ]);
    const h = (n: string) => `${n}.shop.svc.cluster.local`;
    assert.ok(r.service(h('reviews'), 'shop'));
    assert.equal(r.service(h('reviews'), 'default'), undefined, '. hides it from other namespaces');
    assert.ok(r.service(h('ratings'), 'frontend'));
    assert.equal(r.service(h('ratings'), 'default'), undefined);
    assert.ok(r.service(h('details'), 'anything'));
    assert.equal(r.service(h('hidden'), 'shop'), undefined);
    assert.ok(r.service(h('reviews')), 'without a namespace, visibility is not checked');
  });

  it('follows the mesh defaultServiceExportTo option', () => {
    const r = buildRegistry([reviews()], { defaultServiceExportTo: ['.'] });
    assert.equal(r.service('reviews.shop.svc.cluster.local', 'default'), undefined);
    assert.ok(r.service('reviews.shop.svc.cluster.local', 'shop'));
  });

  it('treats ExternalName as an external DNS service whose endpoint is the name', () => {
    const r = buildRegistry([service('ext', { type: 'ExternalName', externalName: 'api.example.com', ports: [{ name: 'https', port: 443 }] })]);
    const s = r.service('ext.default.svc.cluster.local')!;
    assert.equal(s.resolution, 'DNS');
    assert.equal(s.meshExternal, true);
    assert.deepEqual(s.addresses, []);
    assert.deepEqual(r.endpoints(s.hostname, 443).map((e) => `${e.address}:${e.port}`), ['api.example.com:443']);
  });

  it('orders services() by hostname, and ignores kinds it does not model', () => {
    const r = buildRegistry([service('b', { ports: [] }), service('a', { ports: [] }), namespace('x')]);
    assert.deepEqual(r.services().map((s) => s.name), ['a', 'b']);
  });
});
