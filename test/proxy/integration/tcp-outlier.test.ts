/**
 * tcp_proxy and outlier detection: a successful upstream connect counts as a success, so connect
 * failures only eject a host when they are consecutive (Envoy reports LocalOriginConnectSuccessFinal).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { exchange } from '../listener/fake-upstream.js';
import { adminBlock, httpGet, runProxy, staticCluster, tcpListener, tcpProxyFilter, type RunningProxy } from './harness.js';

/** An echo server that can be stopped and started again on the same port. */
class FlappingUpstream {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async up(): Promise<void> {
    const server = createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
      s.pipe(s);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

test('tcp_proxy: a good connection between two connect failures resets the consecutive count; two in a row eject', async (t) => {
  const upstream = new FlappingUpstream();
  await upstream.up();
  // Cleanup first: if the proxy fails to start, the upstream must still close or the file never exits.
  let p: RunningProxy | undefined;
  t.after(async () => {
    await p?.stop();
    await upstream.down();
  });
  p = await runProxy({
    admin: adminBlock(),
    static_resources: {
      clusters: [staticCluster('flap', [upstream.port], { outlier_detection: { consecutive_5xx: 2, interval: '10s', base_ejection_time: '30s', max_ejection_percent: 100 } })],
      listeners: [tcpListener('flap', [{ filters: [tcpProxyFilter('flap')] }])],
    },
  });
  const proxy = p;
  const port = p.ports.get('flap')!;
  const ejections = async (): Promise<number> => {
    const text = (await httpGet(proxy.adminPort, '/stats')).body;
    return Number(/^cluster\.flap\.outlier_detection\.ejections_enforced_total: (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  const ok = async () => assert.equal(await exchange(port, 'ping', 4), 'ping', 'connection through the proxy echoes');
  const refused = async () => assert.equal(await exchange(port, 'ping', 4), '', 'upstream down: the proxy closes the connection');

  await ok();
  await upstream.down();
  await refused();
  await upstream.up();
  await ok();
  await upstream.down();
  await refused();
  assert.equal(await ejections(), 0, 'fail, success, fail is not two consecutive failures');
  await refused();
  assert.equal(await ejections(), 1, 'two consecutive connect failures eject the host');
});
