import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRegistry } from '../../src/registry/service-registry.js';
import { ipv4ToNumber } from '../../src/registry/ip-allocator.js';
import { namespace, pod, service } from './helpers.js';

const HOST = 'reviews.default.svc.cluster.local';

describe('registry: pods and endpoints', () => {
  it('selects pods by label in the service namespace only, with their labels, identity and tlsMode', () => {
    const r = buildRegistry([
      service('reviews', { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] }),
      pod('reviews-v1', { labels: { app: 'reviews', version: 'v1' }, ip: '10.88.1.1', sa: 'bookinfo-reviews' }),
      pod('reviews-v2', { labels: { app: 'reviews', version: 'v2' }, ip: '10.88.1.2', sa: 'bookinfo-reviews' }),
      pod('ratings', { labels: { app: 'ratings' }, ip: '10.88.1.3' }),
      pod('reviews-elsewhere', { namespace: 'other', labels: { app: 'reviews' }, ip: '10.88.1.4' }),
    ]);
    const eps = r.endpoints(HOST, 9080);
    assert.deepEqual(eps.map((e) => e.address), ['10.88.1.1', '10.88.1.2']);
    const e = eps[0]!;
    assert.equal(e.port, 9080);
    assert.equal(e.servicePort, 9080);
    assert.deepEqual(e.labels, { app: 'reviews', version: 'v1' });
    assert.equal(e.serviceAccount, 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews');
    assert.equal(e.tlsMode, 'istio');
    assert.equal(e.ready, true);
    assert.deepEqual(e.workload, { kind: 'Pod', name: 'reviews-v1', namespace: 'default' });
    assert.deepEqual(r.serviceAccounts(HOST), ['spiffe://cluster.local/ns/default/sa/bookinfo-reviews']);
  });

  it('filters by subset labels', () => {
    const r = buildRegistry([
      service('reviews', { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] }),
      pod('v1', { labels: { app: 'reviews', version: 'v1' } }),
      pod('v2', { labels: { app: 'reviews', version: 'v2' } }),
    ]);
    assert.deepEqual(r.endpoints(HOST, 9080, { version: 'v2' }).map((e) => e.workload?.name), ['v2']);
    assert.equal(r.endpoints(HOST, 9080, {}).length, 2);
    assert.equal(r.endpoints(HOST, 1234).length, 0, 'an undeclared port has no endpoints');
  });

  it('a service without a selector selects nothing', () => {
    const r = buildRegistry([service('manual', { ports: [{ port: 80 }] }), pod('p', { labels: { app: 'x' } })]);
    assert.equal(r.endpoints('manual.default.svc.cluster.local', 80).length, 0);
  });

  it('allocates stable pod IPs from 10.88.0.0/16 unless status.podIP is given', () => {
    const objs = [pod('a'), pod('b'), pod('c', { ip: '10.88.200.9' })];
    const r1 = buildRegistry(objs);
    const r2 = buildRegistry([...objs].reverse());
    for (const name of ['a', 'b']) {
      const ip = r1.podByName('default', name)!.address;
      const n = ipv4ToNumber(ip)!;
      assert.ok(n > ipv4ToNumber('10.88.0.0')! && n < ipv4ToNumber('10.89.0.0')!, ip);
      assert.equal(r2.podByName('default', name)!.address, ip);
      assert.equal(r1.podByName('default', name)!.ipAllocated, true);
    }
    assert.equal(r1.podByName('default', 'c')!.address, '10.88.200.9');
    assert.equal(r1.podByName('default', 'c')!.ipAllocated, false);
    assert.equal(r1.podByIp('10.88.200.9')!.name, 'c');
  });

  it('reads readiness from the Ready condition, else ready; phase and deletion make a pod unready', () => {
    const r = buildRegistry([
      service('s', { selector: { app: 's' }, ports: [{ port: 80 }] }),
      pod('ok', { labels: { app: 's' }, ip: '10.88.0.10' }),
      pod('not', { labels: { app: 's' }, ip: '10.88.0.11', ready: false }),
      pod('yes', { labels: { app: 's' }, ip: '10.88.0.12', ready: true }),
      pod('pending', { labels: { app: 's' }, ip: '10.88.0.13', phase: 'Pending' }),
      pod('done', { labels: { app: 's' }, ip: '10.88.0.14', phase: 'Succeeded' }),
    ]);
    const eps = r.endpoints('s.default.svc.cluster.local', 80).map((e) => `${e.workload?.name}:${e.ready}`);
    assert.deepEqual(eps, ['ok:true', 'not:false', 'yes:true', 'pending:false'], 'finished pods are not endpoints at all');
  });

  it('publishNotReadyAddresses makes every endpoint ready', () => {
    const r = buildRegistry([
      service('s', { selector: { app: 's' }, publishNotReadyAddresses: true, ports: [{ port: 80 }] }),
      pod('not', { labels: { app: 's' }, ready: false }),
    ]);
    assert.equal(r.endpoints('s.default.svc.cluster.local', 80)[0]!.ready, true);
  });

  it('resolves a named targetPort per pod, dropping pods without that port name', () => {
    const r = buildRegistry([
      service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }, { name: 'http-alt', port: 81, targetPort: 9090 }] }),
      pod('new', { labels: { app: 'web' }, ip: '10.88.2.1', ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('old', { labels: { app: 'web' }, ip: '10.88.2.2', ports: [{ name: 'web', containerPort: 3000 }] }),
      pod('unnamed', { labels: { app: 'web' }, ip: '10.88.2.3', ports: [{ containerPort: 8080 }] }),
    ]);
    assert.deepEqual(r.endpoints('web.default.svc.cluster.local', 80).map((e) => `${e.address}:${e.port}`), ['10.88.2.1:8080', '10.88.2.2:3000']);
    assert.deepEqual(r.endpoints('web.default.svc.cluster.local', 81).map((e) => `${e.address}:${e.port}`), [
      '10.88.2.1:9090',
      '10.88.2.2:9090',
      '10.88.2.3:9090',
    ]);
  });

  it('reads locality from topology labels (and the legacy istio-locality label)', () => {
    const r = buildRegistry([
      pod('a', { labels: { 'topology.kubernetes.io/region': 'eu-west', 'topology.kubernetes.io/zone': 'eu-west-1a', 'topology.istio.io/subzone': 'rack7' } }),
      pod('b', { labels: { 'istio-locality': 'us.us-1b' } }),
      pod('c'),
    ]);
    assert.deepEqual(r.podByName('default', 'a')!.locality, { region: 'eu-west', zone: 'eu-west-1a', subZone: 'rack7' });
    assert.deepEqual(r.podByName('default', 'b')!.locality, { region: 'us', zone: 'us-1b', subZone: '' });
    assert.deepEqual(r.podByName('default', 'c')!.locality, { region: '', zone: '', subZone: '' });
  });

  it('uses the default service account and the mesh trust domain in identities', () => {
    const r = buildRegistry([pod('a', { namespace: 'shop' })], { trustDomain: 'example.org' });
    assert.equal(r.podByName('shop', 'a')!.identity, 'spiffe://example.org/ns/shop/sa/default');
  });

  it('decides sidecars: injected unless disabled, namespace and pod labels as Istio reads them', () => {
    const r = buildRegistry([
      namespace('off', { 'istio-injection': 'disabled' }),
      namespace('on', { 'istio-injection': 'enabled' }),
      namespace('rev', { 'istio.io/rev': 'canary' }),
      pod('plain'),
      pod('optout', { labels: { 'sidecar.istio.io/inject': 'false' } }),
      pod('optout-annotation', { annotations: { 'sidecar.istio.io/inject': 'false' } }),
      pod('in-off', { namespace: 'off' }),
      pod('in-off-asks', { namespace: 'off', labels: { 'sidecar.istio.io/inject': 'true' } }),
      pod('in-on', { namespace: 'on' }),
      pod('in-rev', { namespace: 'rev' }),
    ]);
    const sidecar = (ns: string, name: string) => r.podByName(ns, name)!.sidecar;
    assert.equal(sidecar('default', 'plain'), true, 'local-mesh default: injected');
    assert.equal(sidecar('default', 'optout'), false);
    assert.equal(sidecar('default', 'optout-annotation'), false);
    assert.equal(sidecar('off', 'in-off'), false);
    assert.equal(sidecar('off', 'in-off-asks'), false, 'a disabled namespace beats the pod');
    assert.equal(sidecar('on', 'in-on'), true);
    assert.equal(sidecar('rev', 'in-rev'), true);
    assert.equal(r.podByName('off', 'in-off')!.tlsMode, 'disabled');
  });

  it('with injectByDefault off, only labelled namespaces or pods get sidecars', () => {
    const r = buildRegistry(
      [namespace('on', { 'istio-injection': 'enabled' }), pod('plain'), pod('asks', { labels: { 'sidecar.istio.io/inject': 'true' } }), pod('in-on', { namespace: 'on' })],
      { injectByDefault: false },
    );
    assert.equal(r.podByName('default', 'plain')!.sidecar, false);
    assert.equal(r.podByName('default', 'asks')!.sidecar, true);
    assert.equal(r.podByName('on', 'in-on')!.sidecar, true);
  });

  it('finds pods by selector, IP and name; instancesOf lists the service ports a pod serves', () => {
    const r = buildRegistry([
      service('a', { selector: { app: 'x' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
      service('b', { selector: { tier: 'web' }, ports: [{ name: 'tcp', port: 9000 }] }),
      pod('p', { labels: { app: 'x', tier: 'web' }, ip: '10.88.3.3' }),
      pod('q', { labels: { app: 'y', tier: 'web' }, ip: '10.88.3.4' }),
    ]);
    assert.deepEqual(r.podsMatching('default', { tier: 'web' }).map((p) => p.name).sort(), ['p', 'q']);
    assert.deepEqual(r.podsMatching('default', { tier: 'web', app: 'x' }).map((p) => p.name), ['p']);
    assert.deepEqual(r.podsMatching('other', { tier: 'web' }), []);
    assert.equal(r.podByIp('10.88.3.4')!.name, 'q');
    assert.equal(r.podByIp('10.88.9.9'), undefined);
    const inst = r.instancesOf('10.88.3.3').map((i) => `${i.service.name}:${i.servicePort.port}->${i.endpoint.port}`).sort();
    assert.deepEqual(inst, ['a:80->8080', 'b:9000->9000']);
  });
});
