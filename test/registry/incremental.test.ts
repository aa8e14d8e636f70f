import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RegistryEvent } from '../../src/registry/events.js';
import { ServiceRegistry } from '../../src/registry/service-registry.js';
import { del, meshConfigMap, namespace, pod, service, serviceEntry, up, workloadEntry } from './helpers.js';

const HOST = 'reviews.default.svc.cluster.local';
const reviews = (extra: Record<string, unknown> = {}) =>
  service('reviews', { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }], ...extra });

const brief = (events: readonly RegistryEvent[]) => events.map((e) => `${e.type} ${e.hostname}`);

function seeded(): ServiceRegistry {
  const r = new ServiceRegistry();
  r.apply(up(reviews(), service('ratings', { selector: { app: 'ratings' }, ports: [{ port: 9080 }] }), pod('r1', { labels: { app: 'reviews' }, ip: '10.88.0.5' })));
  return r;
}

describe('registry: incremental events', () => {
  it('announces a new service and its endpoints, then nothing for the same batch again', () => {
    const r = new ServiceRegistry();
    const batch = up(reviews(), pod('r1', { labels: { app: 'reviews' } }));
    assert.deepEqual(brief(r.apply(batch)), [`service-added ${HOST}`, `endpoints-changed ${HOST}`]);
    assert.deepEqual(r.apply(batch), []);
  });

  it('a pod added, relabelled, turning unready or removed yields only endpoint events for the services it touches', () => {
    const r = seeded();
    assert.deepEqual(brief(r.apply(up(pod('r2', { labels: { app: 'reviews' } })))), [`endpoints-changed ${HOST}`]);
    assert.deepEqual(brief(r.apply(up(pod('r2', { labels: { app: 'reviews' }, ready: false })))), [`endpoints-changed ${HOST}`]);
    assert.deepEqual(brief(r.apply(up(pod('r2', { labels: { app: 'ratings' }, ready: false })))), [
      'endpoints-changed ratings.default.svc.cluster.local',
      `endpoints-changed ${HOST}`,
    ]);
    assert.deepEqual(brief(r.apply(del(pod('r2', { labels: { app: 'ratings' } })))), ['endpoints-changed ratings.default.svc.cluster.local']);
    assert.equal(r.endpoints(HOST, 9080).length, 1);
  });

  it('a pod no service selects, or a label no selector reads, changes nothing', () => {
    const r = seeded();
    assert.deepEqual(r.apply(up(pod('lonely', { labels: { app: 'nobody' } }))), []);
    // A label outside the selector still changes what the proxy sees (endpoint labels feed subsets).
    assert.deepEqual(brief(r.apply(up(pod('r1', { labels: { app: 'reviews', version: 'v9' }, ip: '10.88.0.5' })))), [`endpoints-changed ${HOST}`]);
    // Moving the same pod to another line of the file is not a change.
    assert.deepEqual(r.apply(up(pod('r1', { labels: { app: 'reviews', version: 'v9' }, ip: '10.88.0.5' }))), []);
  });

  it('a service change is a service-updated event, plus endpoints only when they differ', () => {
    const r = seeded();
    assert.deepEqual(brief(r.apply(up(reviews({ ports: [{ name: 'http', port: 9080 }, { name: 'grpc', port: 9090 }] })))), [
      `service-updated ${HOST}`,
      `endpoints-changed ${HOST}`,
    ]);
    const ev = r.apply(up(reviews({ ports: [{ name: 'http-web', port: 9080 }, { name: 'grpc', port: 9090 }] })));
    assert.deepEqual(brief(ev), [`service-updated ${HOST}`], 'renaming a port changes the service, not its endpoints');
    const upd = ev[0]!;
    assert.ok(upd.type === 'service-updated' && upd.previous.ports[0]!.name === 'http' && upd.service.ports[0]!.name === 'http-web');
  });

  it('keeps a service’s VIP through updates and re-creation', () => {
    const r = seeded();
    const vip = r.service(HOST)!.addresses[0];
    r.apply(up(reviews({ ports: [{ name: 'http', port: 9081 }] })));
    assert.equal(r.service(HOST)!.addresses[0], vip);
    r.apply(del(reviews()));
    assert.equal(r.service(HOST), undefined);
    r.apply(up(reviews()));
    assert.equal(r.service(HOST)!.addresses[0], vip);
  });

  it('a removed service is announced with its endpoints; subscribers get the same events', () => {
    const r = seeded();
    const seen: RegistryEvent[][] = [];
    const off = r.subscribe((e) => seen.push([...e]));
    const ev = r.apply(del(reviews()));
    assert.deepEqual(brief(ev), [`service-removed ${HOST}`, `endpoints-changed ${HOST}`]);
    assert.deepEqual(seen, [ev]);
    off();
    r.apply(up(reviews()));
    assert.equal(seen.length, 1, 'unsubscribed');
  });

  it('a namespace turning injection off flips tlsMode of its pods: endpoint events only', () => {
    const r = seeded();
    assert.equal(r.endpoints(HOST, 9080)[0]!.tlsMode, 'istio');
    assert.deepEqual(brief(r.apply(up(namespace('default', { 'istio-injection': 'disabled' })))), [`endpoints-changed ${HOST}`]);
    assert.equal(r.endpoints(HOST, 9080)[0]!.tlsMode, 'disabled');
    assert.deepEqual(r.apply(up(namespace('default', { 'istio-injection': 'disabled', team: 'x' }))), [], 'other labels do not matter');
  });

  it('a WorkloadEntry and a ServiceEntry change as the pods do', () => {
    const r = new ServiceRegistry();
    const se = serviceEntry('vm', { hosts: ['vm.mesh'], location: 'MESH_INTERNAL', resolution: 'STATIC', ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], workloadSelector: { labels: { app: 'vm' } } });
    assert.deepEqual(brief(r.apply(up(se))), ['service-added vm.mesh']);
    assert.deepEqual(brief(r.apply(up(workloadEntry('w', { address: '192.0.2.1', labels: { app: 'vm' } })))), ['endpoints-changed vm.mesh']);
    assert.deepEqual(brief(r.apply(up(workloadEntry('w', { address: '192.0.2.2', labels: { app: 'vm' } })))), ['endpoints-changed vm.mesh']);
    assert.deepEqual(brief(r.apply(del(se))), ['service-removed vm.mesh', 'endpoints-changed vm.mesh']);
  });

  it('a ServiceEntry edit touching only its endpoints yields endpoint events only', () => {
    const r = new ServiceRegistry();
    const spec = (address: string) => ({ hosts: ['db.ext'], resolution: 'STATIC', ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }], endpoints: [{ address }] });
    r.apply(up(serviceEntry('db', spec('192.0.2.1'))));
    assert.deepEqual(brief(r.apply(up(serviceEntry('db', spec('192.0.2.2'))))), ['endpoints-changed db.ext']);
    assert.deepEqual(r.endpoints('db.ext', 5432).map((e) => e.address), ['192.0.2.2']);
    assert.deepEqual(r.instancesOf('192.0.2.1'), []);
    assert.equal(r.instancesOf('192.0.2.2')[0]?.service.hostname, 'db.ext');
  });

  it('publishNotReadyAddresses flipping is an endpoint change only', () => {
    const r = new ServiceRegistry();
    r.apply(up(reviews(), pod('r1', { labels: { app: 'reviews' }, ready: false })));
    assert.deepEqual(brief(r.apply(up(reviews({ publishNotReadyAddresses: true })))), [`endpoints-changed ${HOST}`]);
    assert.equal(r.endpoints(HOST, 9080)[0]!.ready, true);
  });

  it('a ServiceEntry losing a host removes just that service', () => {
    const r = new ServiceRegistry();
    const spec = (hosts: string[]) => ({ hosts, ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] });
    r.apply(up(serviceEntry('e', spec(['a.com', 'b.com']))));
    assert.deepEqual(brief(r.apply(up(serviceEntry('e', spec(['a.com']))))), ['service-removed b.com']);
  });

  it('a new trust domain in the mesh config re-identifies every endpoint', () => {
    const r = seeded();
    assert.deepEqual(brief(r.apply(up(meshConfigMap('trustDomain: corp.example\n')))), [`endpoints-changed ${HOST}`]);
    assert.equal(r.endpoints(HOST, 9080)[0]!.serviceAccount, 'spiffe://corp.example/ns/default/sa/default');
    assert.equal(r.meshSettings.trustDomain, 'corp.example');
    assert.deepEqual(r.apply(up(meshConfigMap('trustDomain: corp.example\nenableAutoMtls: false\nrootNamespace: mesh-root\n'))), [], 'other mesh settings do not change services or endpoints');
    assert.equal(r.meshSettings.rootNamespace, 'mesh-root');
    r.apply(del(meshConfigMap('')));
    assert.equal(r.endpoints(HOST, 9080)[0]!.serviceAccount, 'spiffe://cluster.local/ns/default/sa/default');
  });

  it('keeps a pod’s allocated IP across re-applies and gives it back after a delete', () => {
    const r = new ServiceRegistry();
    r.apply(up(pod('p')));
    const ip = r.podByName('default', 'p')!.address;
    r.apply(up(pod('p', { labels: { x: 'y' } })));
    assert.equal(r.podByName('default', 'p')!.address, ip);
    r.apply(del(pod('p')));
    assert.equal(r.podByIp(ip), undefined);
    r.apply(up(pod('p')));
    assert.equal(r.podByName('default', 'p')!.address, ip);
  });

  it('a clashing status.podIP falls back to an allocated address with a warning', () => {
    const r = new ServiceRegistry();
    r.apply(up(pod('a', { ip: '10.88.7.7' })));
    r.apply(up(pod('b', { ip: '10.88.7.7' })));
    assert.equal(r.podByIp('10.88.7.7')!.name, 'a');
    assert.notEqual(r.podByName('default', 'b')!.address, '10.88.7.7');
    assert.match(r.warnings().at(-1)!, /10\.88\.7\.7 is already used by pod default\/a/);
  });
});
