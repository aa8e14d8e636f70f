import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { constantRate } from '../../bench/constant-rate.js';

// The Istio-like sidecar pair is reached through the client sidecar's forward proxy: the URL names
// the proxy and the Host header the service, so a generator that sent the URL's host would measure 404s.
test('the load generator sends the Host it is given, with the body, at the rate asked', { timeout: 30_000 }, async () => {
  const hosts = new Set<string>();
  const lengths = new Set<number>();
  const server = http.createServer((req, res) => {
    hosts.add(req.headers.host ?? '');
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      lengths.add(n);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    const r = await constantRate(`http://127.0.0.1:${port}/echo`, { rps: 100, seconds: 1, connections: 2, bodyBytes: 64, warmupSeconds: 0, host: 'server.bench.svc.cluster.local' });
    assert.deepEqual([...hosts], ['server.bench.svc.cluster.local']);
    assert.deepEqual([...lengths], [64]);
    assert.equal(r.failed, 0);
    assert.ok(r.sent >= 50 && r.sent <= 150, `sent ${r.sent}`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
