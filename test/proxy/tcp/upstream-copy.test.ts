/**
 * tcp_proxy copies upstream bytes through one reused read buffer per connection (onread). These
 * tests would catch that buffer being overwritten while a write still holds it: a slow reader
 * makes writes pend, and every byte of a large random stream must arrive in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { adminBlock, httpGet, runProxy, staticCluster, tcpListener, tcpProxyFilter, type RunningProxy } from '../integration/harness.js';
import { UpstreamCopy } from '../../../src/proxy/tcp/upstream-copy.js';

const PAYLOAD = randomBytes(6 * 1024 * 1024 + 123);
const DIGEST = createHash('sha256').update(PAYLOAD).digest('hex');

/** An upstream that answers every connection with PAYLOAD (in uneven chunks) after reading "go", then half-closes. */
async function payloadServer(): Promise<Server> {
  const server = createServer((s) => {
    s.once('data', async () => {
      let off = 0;
      let step = 1;
      while (off < PAYLOAD.length) {
        // 1 B, 2 B, 4 B … up to 512 KB, over and over: reads of every size, full and partial.
        const end = Math.min(PAYLOAD.length, off + step);
        if (!s.write(PAYLOAD.subarray(off, end))) await new Promise((r) => s.once('drain', r));
        off = end;
        step = step >= 512 * 1024 ? 1 : step * 2;
      }
      s.end();
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/** Reads everything until the proxy forwards the FIN; `slow` pauses the reader so the proxy's writes pend. */
function fetchAll(port: number, slow: boolean): Promise<{ digest: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const s: Socket = connect(port, '127.0.0.1', () => s.write('go'));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`timed out after ${bytes} bytes`));
    }, 30_000);
    s.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
      if (slow && bytes % 7 === 0) {
        s.pause();
        setTimeout(() => s.resume(), 2);
      }
    });
    s.on('end', () => {
      clearTimeout(timer);
      s.end();
      resolve({ digest: hash.digest('hex'), bytes });
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

test('tcp_proxy: a large stream arrives intact through the reused read buffer, with slow and fast readers at once', async (t) => {
  const upstream = await payloadServer();
  let p: RunningProxy | undefined;
  t.after(async () => {
    await p?.stop();
    upstream.close();
  });
  const port = (upstream.address() as AddressInfo).port;
  p = await runProxy({
    admin: adminBlock(),
    static_resources: { clusters: [staticCluster('up', [port])], listeners: [tcpListener('tcp', [{ filters: [tcpProxyFilter('up')] }])] },
  });
  const lp = p.ports.get('tcp')!;
  // Concurrent connections share nothing: a buffer shared across them would mix their bytes.
  const results = await Promise.all([fetchAll(lp, true), fetchAll(lp, false), fetchAll(lp, true), fetchAll(lp, false)]);
  for (const r of results) {
    assert.equal(r.bytes, PAYLOAD.length);
    assert.equal(r.digest, DIGEST);
  }
  // The bytes the upstream sent are counted (tx to downstream), as the 'data' path counted them.
  const stats = (await httpGet(p.adminPort, '/stats')).body;
  const tx = Number(/tcp\.\S+\.downstream_cx_tx_bytes_total: (\d+)/.exec(stats)?.[1]);
  assert.equal(tx, PAYLOAD.length * 4);
});

test('UpstreamCopy allocates its read buffer at the first read only, so a TLS upstream (no onread) costs none', () => {
  const before = process.memoryUsage().arrayBuffers;
  const copies = Array.from({ length: 1000 }, () => new UpstreamCopy(() => undefined));
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 1024 * 1024, `1000 unused copies hold ${grown} bytes of buffers`);
  const next = copies[0].onread.buffer as () => Buffer;
  const first = next();
  assert.equal(first.length, 4 * 1024);
  assert.equal(next(), first, 'the buffer is reused between reads');
});
