import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { request, simpleHcm, startProxy, staticCluster, type TestProxy } from './harness.js';

/**
 * Upstream HTTP/1 sockets read into one buffer shared by every connection (net's onread). Bytes the
 * parser keeps between reads (a head cut in two, a chunk-size line, a body chunk still queued
 * downstream) must be copies, or the next read on any connection overwrites them.
 */
describe('upstream reads into the shared static buffer', () => {
  let upstream: net.Server;
  let proxy: TestProxy;
  const sockets = new Set<net.Socket>();

  before(async () => {
    // Every response is written in small pieces with pauses, so reads of different connections
    // interleave and each piece lands in the shared buffer on top of another connection's bytes.
    upstream = net.createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => undefined);
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const path = buf.slice(buf.indexOf(' ') + 1, buf.indexOf(' ', buf.indexOf(' ') + 1));
        buf = buf.slice(end + 4);
        const body = `${path}:`.repeat(200);
        const chunks = [body.slice(0, 700), body.slice(700)];
        const pieces = [
          'HTTP/1.1 200 OK\r\nx-pa',
          `th: ${path}\r\ntransfer-encoding: chunked\r\n`,
          '\r\n',
          `${chunks[0].length.toString(16)}\r\n${chunks[0].slice(0, 300)}`,
          `${chunks[0].slice(300)}\r\n${chunks[1].length.toString(16)}`,
          `\r\n${chunks[1]}\r\n0\r\n\r\n`,
        ];
        let i = 0;
        const next = (): void => {
          if (sock.destroyed) return;
          sock.write(pieces[i++]);
          if (i < pieces.length) setTimeout(next, 3);
        };
        next();
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    proxy = await startProxy(simpleHcm({ name: 'rc', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'pieces' } }] }] }), [
      staticCluster('pieces', [(upstream.address() as net.AddressInfo).port]),
    ]);
  });

  after(async () => {
    await proxy.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  it('keeps heads and bodies intact when many connections read in between', async () => {
    const paths = Array.from({ length: 12 }, (_, i) => `/p${i}`);
    for (let round = 0; round < 3; round++) {
      const replies = await Promise.all(paths.map((p) => request(proxy.port, p, { agent: false })));
      replies.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.equal(r.headers['x-path'], paths[i]);
        assert.equal(r.body, `${paths[i]}:`.repeat(200), `body of ${paths[i]}`);
      });
    }
  });
});
