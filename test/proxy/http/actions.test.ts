import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeAgent, request, simpleHcm, startBackend, startProxy, staticCluster, type Backend, type TestProxy } from './harness.js';

describe('route actions: clusters, rewrites, headers, hashing', () => {
  let a: Backend;
  let b: Backend;
  let proxy: TestProxy;

  before(async () => {
    a = await startBackend('a');
    b = await startBackend('b');
    proxy = await startProxy(
      simpleHcm({
        name: 'rc',
        request_headers_to_add: [{ header: { key: 'x-level', value: 'config' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
        response_headers_to_add: [{ header: { key: 'x-resp-config', value: '1' } }],
        virtual_hosts: [
          {
            name: 'vh',
            domains: ['*'],
            request_headers_to_add: [{ header: { key: 'x-level', value: 'vhost' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }, { header: { key: 'x-multi', value: 'vh' } }],
            routes: [
              { match: { prefix: '/split' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 30 }, { name: 'b', weight: 70 }], total_weight: 100 } } },
              { match: { prefix: '/prefix/' }, route: { cluster: 'a', prefix_rewrite: '/rewritten/' } },
              { match: { prefix: '/regex' }, route: { cluster: 'a', regex_rewrite: { pattern: { regex: '^/regex/(\\w+)/(\\w+)$' }, substitution: '/\\2/\\1' } } },
              { match: { prefix: '/host' }, route: { cluster: 'a', host_rewrite_literal: 'rewritten.example' } },
              { match: { prefix: '/by-header' }, route: { cluster_header: 'x-target' } },
              {
                match: { prefix: '/headers' },
                route: { cluster: 'a' },
                request_headers_to_add: [
                  { header: { key: 'x-level', value: 'route' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
                  { header: { key: 'x-multi', value: 'route' } },
                  { header: { key: 'x-absent', value: 'added' }, append_action: 'ADD_IF_ABSENT' },
                  { header: { key: 'x-client', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' } },
                ],
                request_headers_to_remove: ['x-drop'],
                response_headers_to_add: [{ header: { key: 'x-resp-route', value: 'r' } }],
                response_headers_to_remove: ['content-type'],
              },
              { match: { prefix: '/sticky' }, route: { cluster: 'ab', hash_policy: [{ cookie: { name: 'session', ttl: '60s', path: '/' } }] } },
            ],
          },
        ],
      }),
      [staticCluster('a', [a.port]), staticCluster('b', [b.port]), staticCluster('ab', [a.port, b.port], { lb_policy: 'RING_HASH' })],
    );
  });

  after(async () => {
    closeAgent();
    await proxy.close();
    await a.close();
    await b.close();
  });

  it('splits weighted traffic within a few points of the weights over 1,000 requests', async () => {
    const counts: Record<string, number> = { a: 0, b: 0 };
    for (let batch = 0; batch < 20; batch++) {
      const rs = await Promise.all(Array.from({ length: 50 }, () => request(proxy.port, '/split')));
      for (const r of rs) counts[JSON.parse(r.body).backend]++;
    }
    assert.equal(counts.a + counts.b, 1000);
    assert.ok(Math.abs(counts.a / 1000 - 0.3) < 0.05, `a got ${counts.a}/1000`);
  });

  it('rewrites the path prefix and by regex, and the host', async () => {
    assert.equal(JSON.parse((await request(proxy.port, '/prefix/x?y=1')).body).url, '/rewritten/x?y=1');
    const seen = JSON.parse((await request(proxy.port, '/regex/one/two')).body);
    assert.equal(seen.url, '/two/one');
    assert.equal(seen.headers['x-envoy-original-path'], '/regex/one/two');
    assert.equal(JSON.parse((await request(proxy.port, '/host')).body).headers.host, 'rewritten.example');
  });

  it('routes by cluster_header', async () => {
    assert.equal(JSON.parse((await request(proxy.port, '/by-header', { headers: { 'x-target': 'b' } })).body).backend, 'b');
    assert.equal((await request(proxy.port, '/by-header', { headers: { 'x-target': 'nope' } })).status, 503);
  });

  it('applies header mutations at route, vhost and route-config levels with Envoy precedence', async () => {
    const r = await request(proxy.port, '/headers', { headers: { 'x-drop': '1', 'x-absent': 'client' } });
    const h = JSON.parse(r.body).headers;
    // The least specific level is applied last, so its overwrite wins.
    assert.equal(h['x-level'], 'config');
    assert.equal(h['x-multi'], 'route, vh');
    assert.equal(h['x-absent'], 'client');
    assert.equal(h['x-drop'], undefined);
    assert.equal(h['x-client'], '127.0.0.1');
    assert.equal(r.headers['x-resp-route'], 'r');
    assert.equal(r.headers['x-resp-config'], '1');
    assert.equal(r.headers['content-type'], undefined);
  });

  it('mints a hash cookie with a TTL and sticks to one backend while it is sent back', async () => {
    const first = await request(proxy.port, '/sticky');
    const sc = String(first.headers['set-cookie']);
    assert.match(sc, /^session="[0-9a-f]{16}"; Max-Age=60; Path=\/; HttpOnly$/);
    const cookie = sc.split(';')[0];
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await request(proxy.port, '/sticky', { headers: { cookie } });
      assert.equal(r.headers['set-cookie'], undefined);
      seen.add(JSON.parse(r.body).backend);
    }
    assert.equal(seen.size, 1);
  });
});
