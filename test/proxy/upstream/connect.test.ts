import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { type Socket, connect } from 'node:net';
import { once } from 'node:events';
import type { ConnectFailure } from '../../../src/proxy/upstream/api.js';
import { connectAsync, newManager, staticCluster, startBackend } from './helpers.js';

/**
 * A listener that never accepts: a child process listens with a tiny backlog, then blocks its event
 * loop. Once the kernel's accept queue is full, further SYNs are dropped and connects hang — a
 * reliable connect timeout on loopback without touching routes or firewalls.
 */
async function startBlackhole(): Promise<{ port: number; fillers: Socket[]; close(): void }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('net').createServer(); s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
         process.stdout.write(String(s.address().port) + '\\n');
         setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000), 50);
       });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  await new Promise((r) => setTimeout(r, 150));
  const fillers: Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
  }
  await new Promise((r) => setTimeout(r, 100));
  return {
    port,
    fillers,
    close: () => {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    },
  };
}

test('connect_timeout: a connect that never completes fails on time with upstream_cx_connect_timeout', async () => {
  const hole = await startBlackhole();
  const { cm, stats } = newManager();
  try {
    const c = cm.addOrUpdate(staticCluster('svc', [hole.port], { connect_timeout: '0.25s' }), 'c');
    const started = Date.now();
    const err = (await connectAsync(c, c.chooseHost({})!).then(
      () => assert.fail('connected to a listener that never accepts'),
      (e: unknown) => e,
    )) as ConnectFailure;
    const elapsed = Date.now() - started;
    assert.equal(err.failure, 'timeout');
    assert.ok(elapsed >= 240 && elapsed < 3000, `timed out after ${elapsed} ms`);
    assert.equal(stats.counter('cluster.svc.upstream_cx_connect_timeout').value, 1);
    assert.equal(stats.counter('cluster.svc.upstream_cx_connect_fail').value, 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(stats.gauge('cluster.svc.upstream_cx_active').value, 0);
    assert.equal(c.resources.connections.active, 0, 'the breaker slot is released');
  } finally {
    cm.close();
    hole.close();
  }
});

test('a refused connection fails fast with an Envoy-like transport failure reason', async () => {
  const b = await startBackend('x');
  const port = b.port;
  await b.close();
  const { cm, stats } = newManager();
  const c = cm.addOrUpdate(staticCluster('svc', [port]), 'c');
  const err = (await connectAsync(c, c.chooseHost({})!).catch((e: unknown) => e)) as ConnectFailure;
  assert.equal(err.failure, 'connection_failure');
  assert.match(err.transportFailureReason, /^delayed connect error: \d+$/);
  assert.equal(stats.counter('cluster.svc.upstream_cx_connect_fail').value, 1);
  assert.equal(c.hosts[0].cxConnectFail, 1);
  cm.close();
});

test('connections are counted per host and cluster for their whole life, with keepalive options accepted', async () => {
  const b = await startBackend('x');
  const { cm, stats } = newManager();
  try {
    const c = cm.addOrUpdate(
      staticCluster('svc', [b.port], { upstream_connection_options: { tcp_keepalive: { keepalive_time: 30, keepalive_interval: 5, keepalive_probes: 3 } } }),
      'c',
    );
    const host = c.chooseHost({})!;
    const r1 = await connectAsync(c, host);
    const r2 = await connectAsync(c, host);
    assert.equal(host.activeConnections, 2);
    assert.equal(stats.gauge('cluster.svc.upstream_cx_active').value, 2);
    assert.equal(r1.localAddress, '127.0.0.1');
    r1.socket.destroy();
    r2.socket.destroy();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(host.activeConnections, 0);
    assert.equal(stats.counter('cluster.svc.upstream_cx_destroy').value, 2);
  } finally {
    cm.close();
    await b.close();
  }
});

test('circuit breakers: thresholds shared by every user of the cluster, with open/remaining gauges', async () => {
  const b = await startBackend('x');
  const { cm, stats } = newManager();
  try {
    const c = cm.addOrUpdate(
      staticCluster('svc', [b.port], {
        circuit_breakers: { thresholds: [{ max_connections: 2, max_pending_requests: 1, max_requests: 3, max_retries: 0, track_remaining: true }, { priority: 'HIGH', max_connections: 9 }] },
      }),
      'c',
    );
    const r = c.resources;
    assert.equal(r.connections.max, 2);
    const s1 = await connectAsync(c, c.chooseHost({})!);
    assert.equal(r.connections.canCreate(), true);
    assert.equal(stats.gauge('cluster.svc.circuit_breakers.default.remaining_cx').value, 1);
    const s2 = await connectAsync(c, c.chooseHost({})!);
    assert.equal(r.connections.canCreate(), false, 'the pool must not open a third connection');
    assert.equal(stats.gauge('cluster.svc.circuit_breakers.default.cx_open').value, 1);
    s1.socket.destroy();
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(r.connections.canCreate(), true);
    s2.socket.destroy();

    r.pendingRequests.inc();
    assert.equal(r.pendingRequests.canCreate(), false);
    r.pendingRequests.dec();
    assert.equal(r.retries.canCreate(), false, 'max_retries 0 allows no retry');
    for (let i = 0; i < 3; i++) r.requests.inc();
    assert.equal(r.requests.canCreate(), false);
    assert.equal(stats.gauge('cluster.svc.circuit_breakers.default.rq_open').value, 1);
    // A replacement with the same limits starts its own counts; the old object keeps its own.
    const other = cm.addOrUpdate(staticCluster('svc', [b.port]), 'c');
    assert.equal(other.resources.requests.max, 1024, "Envoy's default");
    assert.equal(other.resources.retries.max, 3, "Envoy's default max_retries");
    assert.equal(c.resources.requests.active, 3);
  } finally {
    cm.close();
    await b.close();
  }
});

test('upstream_bind_config connects from the given source address (Istio binds inbound passthrough to 127.0.0.6)', async (t) => {
  const b = await startBackend('bound');
  t.after(() => b.close());
  const { cm } = newManager();
  t.after(() => cm.close());
  cm.addOrUpdate(staticCluster('bound', [b.port], { upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } } }), 'c');
  const c = cm.get('bound')!;
  const r = await connectAsync(c, c.chooseHost({})!);
  t.after(() => r.socket.destroy());
  // The backend may have accepted before we look: wait for its socket rather than for the event.
  const deadline = Date.now() + 5000;
  while (b.sockets.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const peers = [...b.sockets].map((s) => s.remoteAddress);
  assert.ok(peers.includes('127.0.0.6'), `backend saw ${peers.join(', ')}`);
  assert.throws(() => cm.addOrUpdate(staticCluster('bad', [b.port], { upstream_bind_config: { nope: 1 } }), 'c2'), /nope/);
});
