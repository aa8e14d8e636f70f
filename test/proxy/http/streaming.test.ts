import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { JsonObject } from '../../../src/proxy/config/fields.js';
import { closeAgent, request, simpleHcm, startBackend, startProxy, staticCluster, HCM_TYPE, ROUTER, type Backend, type TestProxy } from './harness.js';

const MB = 1024 * 1024;

function h2Backend(): Promise<{ port: number; close(): Promise<void> }> {
  const srv = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  srv.on('session', (sess) => {
    sessions.add(sess);
    sess.on('close', () => sessions.delete(sess));
  });
  srv.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'fine' }));
      stream.end(Buffer.concat([Buffer.from(String(headers[':path'])), Buffer.from('|'), ...chunks]));
    });
  });
  return new Promise((r) =>
    srv.listen(0, '127.0.0.1', () =>
      r({
        port: (srv.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((res) => {
            for (const sess of sessions) sess.destroy();
            srv.close(() => res());
          }),
      }),
    ),
  );
}

function h2Request(port: number, path: string, headers: Record<string, string>, body?: string): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', reject);
    const req = client.request({ ':method': body ? 'POST' : 'GET', ':path': path, ...headers });
    let resHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (resHeaders = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      client.close();
      resolve({ headers: resHeaders, trailers, body: Buffer.concat(chunks).toString() });
    });
    req.on('error', reject);
    req.end(body);
  });
}

let backendSent = 0;

/** Streams 50 MB on /download (counting what it got out) and counts /upload bytes after not reading for 500 ms. */
function startCounter(): Promise<{ port: number; close(): Promise<void> }> {
  const srv = http.createServer((req, res) => {
    if (req.url === '/download') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const block = Buffer.alloc(MB, 7);
      let sent = 0;
      const pump = () => {
        while (sent < 50) {
          sent++;
          backendSent += MB;
          if (!res.write(block)) return res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    let n = 0;
    req.pause();
    setTimeout(() => {
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(String(n)));
      req.resume();
    }, 500);
  });
  return new Promise((r) =>
    srv.listen(0, '127.0.0.1', () =>
      r({
        port: (srv.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((res) => {
            srv.closeAllConnections();
            srv.close(() => res());
          }),
      }),
    ),
  );
}

describe('streaming, protocols and live route changes', () => {
  let counter: { port: number; close(): Promise<void> };
  let slowA: Backend;
  let fastB: Backend;
  let h2b: Awaited<ReturnType<typeof h2Backend>>;
  let proxy: TestProxy;
  let ws: http.Server;
  let wsPort: number;
  const wsSockets = new Set<import('node:stream').Duplex>();

  before(async () => {
    counter = await startCounter();
    slowA = await startBackend('slowA', (req, res) => setTimeout(() => res.end('from A'), 400));
    fastB = await startBackend('fastB', (req, res) => res.end('from B'));
    h2b = await h2Backend();
    ws = http.createServer();
    ws.on('upgrade', (req, socket) => {
      wsSockets.add(socket);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n');
      socket.on('data', (d) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    });
    await new Promise<void>((r) => ws.listen(0, '127.0.0.1', r));
    wsPort = (ws.address() as net.AddressInfo).port;
    const hcm = {
      '@type': HCM_TYPE,
      stat_prefix: 'stream',
      rds: { route_config_name: 'live', config_source: { ads: {} } },
      upgrade_configs: [{ upgrade_type: 'websocket' }],
      http_filters: [ROUTER],
    };
    proxy = await startProxy(
      hcm,
      [
        staticCluster('counter', [counter.port]),
        staticCluster('a', [slowA.port]),
        staticCluster('b', [fastB.port]),
        staticCluster('grpc', [h2b.port], { http2_protocol_options: {} }),
        staticCluster('ws', [wsPort]),
      ],
      ({ routes, ctx }) => routes.set(liveRoutes('a'), ctx),
    );
  });

  function liveRoutes(target: string): JsonObject {
    return {
      name: 'live',
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [
            { match: { prefix: '/upload' }, route: { cluster: 'counter', timeout: '0s' } },
            { match: { prefix: '/download' }, route: { cluster: 'counter', timeout: '0s' } },
            { match: { prefix: '/pkg.Svc' }, route: { cluster: 'grpc' } },
            { match: { prefix: '/ws' }, route: { cluster: 'ws' } },
            { match: { prefix: '/' }, route: { cluster: target } },
          ],
        },
      ],
    };
  }

  after(async () => {
    closeAgent();
    await proxy.close();
    await counter.close();
    await slowA.close();
    await fastB.close();
    await h2b.close();
    ws.closeAllConnections();
    for (const sock of wsSockets) sock.destroy();
    await new Promise<void>((r) => ws.close(() => r()));
  });

  it('streams a 50 MB download and upload end to end, holding back a fast sender instead of buffering', async () => {
    // Download: the client stops reading for a while; the backend must be held back, not the proxy filled.
    const downloaded = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: proxy.port, path: '/download' }, (res) => {
        let n = 0;
        let paused = false;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (!paused && n > MB) {
            paused = true;
            res.pause();
            setTimeout(() => {
              assert.ok(backendSent < 20 * MB, `backend got ${backendSent / MB} MB out while the client was not reading`);
              res.resume();
            }, 400);
          }
        });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      });
    });
    assert.equal(downloaded, 50 * MB);
    // Upload: the backend stops reading; the client must see backpressure long before 50 MB.
    let sentWhilePaused = -1;
    const uploaded = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, path: '/upload', method: 'POST' }, (res) => {
        let s = '';
        res.on('data', (c) => (s += c));
        res.on('end', () => resolve(s));
      });
      req.on('error', reject);
      const block = Buffer.alloc(MB, 1);
      let sent = 0;
      setTimeout(() => (sentWhilePaused = sent), 350);
      const pump = () => {
        while (sent < 50) {
          sent++;
          if (!req.write(block)) return req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(uploaded, String(50 * MB));
    assert.ok(sentWhilePaused >= 0 && sentWhilePaused < 20, `client wrote ${sentWhilePaused} MB while the backend was not reading`);
  });

  it('applies a new route table to new requests while in-flight ones finish on the old one', async () => {
    const before = slowA.requests.length;
    const inflight = Array.from({ length: 5 }, () => request(proxy.port, '/x'));
    // Swap only once all five are at the backend, i.e. truly in flight on the old table.
    // A deadline, not a count of polls: on a loaded machine the five can take seconds to get there,
    // and swapping before they do would route the stragglers by the new table.
    const deadline = Date.now() + 15_000;
    while (slowA.requests.length < before + 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(slowA.requests.length - before, 5, 'all five requests reached the old route before the swap');
    proxy.routes.set(liveRoutes('b'), proxy.ctx);
    const fresh = await request(proxy.port, '/x');
    assert.equal(fresh.body, 'from B');
    const old = await Promise.all(inflight);
    for (const r of old) {
      assert.equal(r.status, 200);
      assert.equal(r.body, 'from A');
    }
  });

  it('serves HTTP/2 with prior knowledge and carries gRPC trailers to an HTTP/2 upstream', async () => {
    const r = await h2Request(proxy.port, '/pkg.Svc/Call', { 'content-type': 'application/grpc', te: 'trailers' }, 'payload');
    assert.equal(r.headers[':status'], 200);
    assert.equal(r.body, '/pkg.Svc/Call|payload');
    assert.equal(r.trailers['grpc-status'], '0');
    assert.equal(r.trailers['grpc-message'], 'fine');
    const h1 = await h2Request(proxy.port, '/plain', {});
    assert.equal(h1.headers[':status'], 200);
    assert.equal(h1.body, 'from B');
  });

  it('answers gRPC requests that fail locally with grpc-status', async () => {
    proxy.routes.set({ name: 'live', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/only' }, route: { cluster: 'b' } }] }] }, proxy.ctx);
    try {
      const r = await h2Request(proxy.port, '/pkg.Svc/Missing', { 'content-type': 'application/grpc' });
      assert.equal(r.headers[':status'], 200);
      assert.equal(r.headers['grpc-status'], '12');
    } finally {
      proxy.routes.set(liveRoutes('b'), proxy.ctx);
    }
  });

  it('tunnels WebSocket upgrades both ways', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const s = net.connect(proxy.port, '127.0.0.1');
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\r\n\r\n') && !buf.includes('echo:')) s.write('ping');
        if (buf.includes('echo:ping')) {
          s.destroy();
          resolve(buf);
        }
      });
      s.on('error', reject);
      s.write('GET /ws HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n');
    });
    assert.match(got, /^HTTP\/1\.1 101 /);
    assert.match(got, /echo:ping$/);
  });
});
