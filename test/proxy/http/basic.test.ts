import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { closeAgent, request, routeTo, simpleHcm, startBackend, startProxy, staticCluster, type Backend, type TestProxy } from './harness.js';

describe('http connection manager: proxying and local replies', () => {
  let backend: Backend;
  let proxy: TestProxy;
  let deadPort: number;

  before(async () => {
    backend = await startBackend('b1');
    const tmp = net.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    deadPort = (tmp.address() as net.AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    proxy = await startProxy(
      simpleHcm(
        {
          name: 'rc',
          virtual_hosts: [
            {
              name: 'vh',
              domains: ['*'],
              routes: [
                { match: { prefix: '/dead' }, route: { cluster: 'dead' } },
                { match: { prefix: '/empty' }, route: { cluster: 'empty' } },
                { match: { prefix: '/nocluster' }, route: { cluster: 'missing' } },
                { match: { path: '/direct' }, direct_response: { status: 418, body: { inline_string: 'short and stout' } } },
                { match: { prefix: '/old' }, redirect: { prefix_rewrite: '/new', host_redirect: 'example.com', response_code: 'FOUND' } },
                { match: { prefix: '/secure' }, redirect: { https_redirect: true } },
                { match: { prefix: '/b' }, route: { cluster: 'b1' } },
              ],
            },
          ],
        },
        { server_name: 'istio-envoy' },
      ),
      [staticCluster('b1', [backend.port]), staticCluster('dead', [deadPort]), { name: 'empty', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'empty', endpoints: [] } }],
    );
  });

  after(async () => {
    closeAgent();
    await proxy.close();
    await backend.close();
  });

  it('forwards a request and adds the headers Envoy adds', async () => {
    const r = await request(proxy.port, '/b/x?q=1', { headers: { 'x-custom': 'v' } });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body);
    assert.equal(seen.url, '/b/x?q=1');
    assert.equal(seen.headers['x-custom'], 'v');
    assert.match(seen.headers['x-request-id'], /^[0-9a-f-]{36}$/);
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(r.headers.server, 'istio-envoy');
    assert.match(String(r.headers['x-envoy-upstream-service-time']), /^\d+$/);
  });

  it('keeps a client-supplied x-request-id and forwards POST bodies', async () => {
    const r = await request(proxy.port, '/b/post', { method: 'POST', body: 'hello body', headers: { 'x-request-id': 'abc' } });
    const seen = JSON.parse(r.body);
    assert.equal(seen.body, 'hello body');
    assert.equal(seen.headers['x-request-id'], 'abc');
  });

  it('answers 404 with no body when no route matches', async () => {
    const r = await request(proxy.port, '/nothing');
    assert.equal(r.status, 404);
    assert.equal(r.body, '');
    assert.equal(proxy.stats.counter('http.test.no_route').value >= 1, true);
  });

  it('answers 503 "no healthy upstream" for a cluster without endpoints', async () => {
    const r = await request(proxy.port, '/empty');
    assert.equal(r.status, 503);
    assert.equal(r.body, 'no healthy upstream');
  });

  it('answers 503 with the connection failure body when the upstream refuses', async () => {
    const r = await request(proxy.port, '/dead');
    assert.equal(r.status, 503);
    assert.equal(r.body, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure');
    assert.equal(r.headers['content-length'], '91');
  });

  it('answers 503 for a route to a cluster that does not exist', async () => {
    const r = await request(proxy.port, '/nocluster');
    assert.equal(r.status, 503);
  });

  it('serves direct responses and redirects', async () => {
    const d = await request(proxy.port, '/direct');
    assert.equal(d.status, 418);
    assert.equal(d.body, 'short and stout');
    const red = await request(proxy.port, '/old/page?x=1', { headers: { host: 'here.local:8080' } });
    assert.equal(red.status, 302);
    assert.equal(red.headers.location, 'http://example.com:8080/new/page?x=1');
    const sec = await request(proxy.port, '/secure/a', { headers: { host: 'here.local' } });
    assert.equal(sec.status, 301);
    assert.equal(sec.headers.location, 'https://here.local/secure/a');
  });

  it('reuses upstream keep-alive connections', async () => {
    const before = backend.requests.length;
    for (let i = 0; i < 5; i++) assert.equal((await request(proxy.port, '/b/k')).status, 200);
    const sockets = new Set(backend.requests.slice(before).map((r) => r.socket));
    assert.equal(sockets.size, 1);
  });

  it('counts requests by status class', async () => {
    const total = proxy.stats.counter('http.test.downstream_rq_total').value;
    const ok = proxy.stats.counter('http.test.downstream_rq_2xx').value;
    assert.ok(total >= 10);
    assert.ok(ok >= 3);
    assert.ok(proxy.stats.counter('cluster.b1.upstream_rq_total').value >= 1);
  });
});
