import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRegistry } from '../../src/registry/service-registry.js';
import { service, serviceEntry } from './helpers.js';

const registry = () =>
  buildRegistry([
    service('reviews', { ports: [{ port: 9080 }] }, { namespace: 'default' }),
    service('reviews', { ports: [{ port: 9080 }] }, { namespace: 'shop' }),
    service('private', { ports: [{ port: 80 }] }, { namespace: 'shop', annotations: { 'networking.istio.io/exportTo': '.' } }),
    serviceEntry('ext', { hosts: ['api.example.com', 'reviews.default'], ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }] }, 'default'),
  ]);

describe('registry: resolving hosts written in VirtualService/DestinationRule', () => {
  it('expands a short name relative to the config’s namespace', () => {
    const r = registry();
    const inShop = r.resolveHost('reviews', 'shop');
    assert.equal(inShop.fqdn, 'reviews.shop.svc.cluster.local');
    assert.deepEqual(inShop.services.map((s) => s.namespace), ['shop']);
    assert.equal(r.resolveHost('reviews', 'default').services[0]?.namespace, 'default');
  });

  it('takes a dotted short name as an FQDN, as Istio does: reviews.default is not the reviews service', () => {
    const r = buildRegistry([service('reviews', { ports: [{ port: 9080 }] })]);
    const res = r.resolveHost('reviews.default', 'default');
    assert.equal(res.fqdn, 'reviews.default');
    assert.deepEqual(res.services, []);
    // ...unless something declares exactly that host.
    const withEntry = registry().resolveHost('reviews.default', 'default');
    assert.deepEqual(withEntry.services.map((s) => s.source), ['serviceentry']);
  });

  it('resolves FQDNs and ServiceEntry hosts as written', () => {
    const r = registry();
    assert.equal(r.resolveHost('reviews.shop.svc.cluster.local', 'default').services[0]?.namespace, 'shop');
    assert.equal(r.resolveHost('api.example.com', 'anywhere').services[0]?.name, 'ext');
  });

  it('expands wildcards to every matching visible service', () => {
    const r = registry();
    const shop = r.resolveHost('*.shop.svc.cluster.local', 'default');
    assert.equal(shop.wildcard, true);
    assert.deepEqual(shop.services.map((s) => s.name), ['reviews'], 'the private service is not exported to default');
    assert.deepEqual(r.resolveHost('*.shop.svc.cluster.local', 'shop').services.map((s) => s.name), ['private', 'reviews']);
    assert.equal(r.resolveHost('*', 'default').services.length, 4);
    assert.deepEqual(r.resolveHost('*.example.com', 'default').services.map((s) => s.hostname), ['api.example.com']);
  });

  it('does not resolve services hidden from the config’s namespace', () => {
    const r = registry();
    assert.deepEqual(r.resolveHost('private.shop.svc.cluster.local', 'default').services, []);
    assert.equal(r.resolveHost('private', 'shop').services.length, 1);
  });

  it('keeps IP addresses and * as they are', () => {
    const r = registry();
    assert.equal(r.resolveHost('10.1.2.3', 'default').fqdn, '10.1.2.3');
    assert.deepEqual(r.resolveHost('10.1.2.3', 'default').services, []);
  });
});
