import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { closeAgent, rawExchange, request, routeTo, simpleHcm, startBackend, startProxy, staticCluster, type Backend, type TestProxy } from './harness.js';

function rawServer(onConn: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onConn(s);
  });
  return new Promise((r) =>
    srv.listen(0, '127.0.0.1', () =>
      r({
        port: (srv.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            srv.close(() => res());
          }),
      }),
    ),
  );
}

describe('bad input and limits', () => {
  let good: Backend;
  let proxy: TestProxy;
  let reset: Awaited<ReturnType<typeof rawServer>>;
  let hang: Awaited<ReturnType<typeof rawServer>>;
  let garbage: Awaited<ReturnType<typeof rawServer>>;

  before(async () => {
    good = await startBackend('good');
    reset = await rawServer((s) => s.once('data', () => s.resetAndDestroy()));
    hang = await rawServer(() => undefined);
    garbage = await rawServer((s) => s.once('data', () => s.write('NOT HTTP AT ALL\r\n\r\n')));
    proxy = await startProxy(
      simpleHcm(
        {
          name: 'rc',
          virtual_hosts: [
            {
              name: 'vh',
              domains: ['*'],
              routes: [
                { match: { prefix: '/reset' }, route: { cluster: 'reset' } },
                { match: { prefix: '/hang' }, route: { cluster: 'hang', timeout: '0.3s' } },
                { match: { prefix: '/garbage' }, route: { cluster: 'garbage' } },
                { match: { prefix: '/' }, route: { cluster: 'good' } },
              ],
            },
          ],
        },
        { request_headers_timeout: '0.3s' },
      ),
      [staticCluster('good', [good.port]), staticCluster('reset', [reset.port]), staticCluster('hang', [hang.port]), staticCluster('garbage', [garbage.port])],
    );
  });

  after(async () => {
    closeAgent();
    await proxy.close();
    await good.close();
    await reset.close();
    await hang.close();
    await garbage.close();
  });

  it('answers malformed requests with 400 and closes the connection', async () => {
    for (const bad of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', 'GET / HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n', 'GET / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n']) {
      const r = await rawExchange(proxy.port, bad);
      assert.match(r.text, /^HTTP\/1\.1 400 /, JSON.stringify(bad));
      assert.ok(r.closed);
    }
  });

  it('answers request headers over 60 KiB with 431', async () => {
    const r = await rawExchange(proxy.port, `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(61 * 1024)}\r\n\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 431 /);
    assert.ok(r.closed);
  });

  it('cuts off a client that never finishes its headers', async () => {
    const t0 = Date.now();
    const r = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\nhost: x\r\n', 3000);
    assert.ok(r.closed);
    assert.match(r.text, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - t0 < 1500);
  });

  it('serves pipelined requests in order and chunked request bodies', async () => {
    const body = '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
    const r = await rawExchange(
      proxy.port,
      `GET /one HTTP/1.1\r\nhost: x\r\n\r\nPOST /two HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n${body}GET /three HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
    );
    const urls = [...r.text.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(urls, ['/one', '/two', '/three']);
    assert.match(r.text, /"body":"hello world"/);
    assert.ok(r.closed);
  });

  it('keeps a misbehaving backend to its own requests', async () => {
    const [rs, hg, gb, ok] = await Promise.all([request(proxy.port, '/reset'), request(proxy.port, '/hang'), request(proxy.port, '/garbage'), request(proxy.port, '/fine')]);
    assert.equal(rs.status, 503);
    assert.match(rs.body, /reset reason: connection termination/);
    assert.equal(hg.status, 504);
    assert.equal(gb.status, 503);
    assert.match(gb.body, /protocol error/);
    assert.equal(ok.status, 200);
    assert.equal((await request(proxy.port, '/after')).status, 200);
  });

  it('serves HTTP/1.0 without keep-alive by closing after the response', async () => {
    const r = await rawExchange(proxy.port, 'GET /ten HTTP/1.0\r\n\r\n');
    assert.match(r.text, /^HTTP\/1\.1 200 /);
    assert.match(r.text, /connection: close/);
    assert.ok(r.closed);
  });

  it('rejects an HCM with an unknown HTTP filter, naming it', async () => {
    await assert.rejects(
      startProxy(simpleHcm(routeTo('good'), {}, [{ name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua' } }]), []),
      (e: Error & { field?: string }) => e.field === 'hcm.http_filters[0].typed_config.@type',
    );
  });
});
