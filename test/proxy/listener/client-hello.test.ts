import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { inspectHttp, parseClientHello } from '../../../src/proxy/listener/client-hello.js';

/** The real ClientHello node's TLS client sends, captured by a plain TCP server. */
async function captureHello(servername: string, alpn: string[]): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = createServer((s) => {
      s.once('data', (d) => {
        resolve(d);
        s.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const c = tlsConnect({ port: (server.address() as { port: number }).port, host: '127.0.0.1', servername, ALPNProtocols: alpn, rejectUnauthorized: false });
      c.on('error', () => {});
    });
  });
}

test('parses SNI and ALPN from a real ClientHello, and asks for more bytes when cut short', async () => {
  const hello = await captureHello('Reviews.Default.svc.cluster.local', ['istio-peer-exchange', 'h2']);
  assert.deepEqual(parseClientHello(hello), { kind: 'tls', serverName: 'reviews.default.svc.cluster.local', alpn: ['istio-peer-exchange', 'h2'] });
  assert.deepEqual(parseClientHello(hello.subarray(0, 20)), { kind: 'need_more' });
  assert.deepEqual(parseClientHello(hello.subarray(0, 3)), { kind: 'need_more' });
});

test('plaintext and garbage are not TLS', () => {
  assert.deepEqual(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'not_tls' });
  assert.deepEqual(parseClientHello(Buffer.from([0x16, 0x01, 0x00, 0x00, 0x01, 0x05])), { kind: 'not_tls' });
  const lying = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0xff, 0xff, 0xff, 0x03, 0x03]);
  assert.equal(parseClientHello(lying).kind, 'tls');
});

test('http inspector tells HTTP/1.1, h2c prior knowledge and other bytes apart', () => {
  assert.equal(inspectHttp(Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\n')), 'http/1.1');
  assert.equal(inspectHttp(Buffer.from('GE')), 'need_more');
  assert.equal(inspectHttp(Buffer.from('GET /x HT')), 'need_more');
  assert.equal(inspectHttp(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'h2c');
  assert.equal(inspectHttp(Buffer.from('PRI * HT')), 'need_more');
  assert.equal(inspectHttp(Buffer.from('SSH-2.0-OpenSSH\r\n')), 'unknown');
  assert.equal(inspectHttp(Buffer.from('GET / FOO/1.0\r\n')), 'unknown');
});
