import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { altHostnames, hostMatches, hostSubsetOf, resolveShortnameToFqdn, virtualHostDomains } from '../../src/registry/hostname.js';

describe('hostname rules', () => {
  it('expands a name without dots relative to the config namespace', () => {
    assert.equal(resolveShortnameToFqdn('reviews', 'shop', 'cluster.local'), 'reviews.shop.svc.cluster.local');
    assert.equal(resolveShortnameToFqdn('reviews', 'default', 'corp.example'), 'reviews.default.svc.corp.example');
  });

  it('takes any dotted name as an FQDN: reviews.default is not expanded', () => {
    assert.equal(resolveShortnameToFqdn('reviews.default', 'default', 'cluster.local'), 'reviews.default');
    assert.equal(resolveShortnameToFqdn('reviews.default.svc', 'default', 'cluster.local'), 'reviews.default.svc');
    assert.equal(resolveShortnameToFqdn('httpbin.org', 'default', 'cluster.local'), 'httpbin.org');
  });

  it('leaves *, wildcards and IP addresses alone', () => {
    assert.equal(resolveShortnameToFqdn('*', 'default', 'cluster.local'), '*');
    assert.equal(resolveShortnameToFqdn('*.example.com', 'default', 'cluster.local'), '*.example.com');
    assert.equal(resolveShortnameToFqdn('10.0.0.1', 'default', 'cluster.local'), '10.0.0.1');
    assert.equal(resolveShortnameToFqdn('::1', 'default', 'cluster.local'), '::1');
  });

  it('matches wildcards in either direction, never the bare parent domain', () => {
    assert.equal(hostMatches('*.example.com', 'a.example.com'), true);
    assert.equal(hostMatches('a.b.example.com', '*.example.com'), true);
    assert.equal(hostMatches('*.example.com', 'example.com'), false);
    assert.equal(hostMatches('*', 'anything.at.all'), true);
    assert.equal(hostMatches('*.a.example.com', '*.example.com'), true);
    assert.equal(hostMatches('a.example.com', 'b.example.com'), false);
    assert.equal(hostSubsetOf('a.example.com', '*.example.com'), true);
    assert.equal(hostSubsetOf('*.example.com', 'a.example.com'), false);
    assert.equal(hostSubsetOf('*.example.com', '*'), true);
  });

  it('gives callers in the same namespace the short names, others name.ns and name.ns.svc only', () => {
    assert.deepEqual(altHostnames('reviews.shop.svc.cluster.local', 'shop', 'cluster.local'), ['reviews', 'reviews.shop', 'reviews.shop.svc']);
    assert.deepEqual(altHostnames('reviews.shop.svc.cluster.local', 'other', 'cluster.local'), ['reviews.shop', 'reviews.shop.svc']);
    assert.deepEqual(altHostnames('httpbin.org', 'shop', 'cluster.local'), []);
  });

  it('lists virtual host domains with and without the port, VIPs included', () => {
    const d = virtualHostDomains('reviews.shop.svc.cluster.local', 9080, 'other', 'cluster.local', ['10.96.0.7']);
    assert.deepEqual(d, [
      'reviews.shop.svc.cluster.local',
      'reviews.shop.svc.cluster.local:9080',
      'reviews.shop',
      'reviews.shop:9080',
      'reviews.shop.svc',
      'reviews.shop.svc:9080',
      '10.96.0.7',
      '10.96.0.7:9080',
    ]);
  });
});
