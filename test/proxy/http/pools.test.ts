import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { sweep } from '../../../src/proxy/http/upstream-pools.js';
import { request, simpleHcm, startBackend, startProxy, staticCluster, type Backend, type TestProxy } from './harness.js';

async function deadPort(): Promise<number> {
  const tmp = net.createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
  const port = (tmp.address() as net.AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));
  return port;
}

describe('upstream pools, circuit breakers, host retries and draining', () => {
  let slow: Backend;
  let good: Backend;
  let proxy: TestProxy;
  const agent = new http.Agent({ keepAlive: true });

  before(async () => {
    slow = await startBackend('slow', (req, res) => setTimeout(() => res.end('slow'), 300));
    good = await startBackend('good');
    const dead = await deadPort();
    proxy = await startProxy(
      simpleHcm({
        name: 'rc',
        virtual_hosts: [
          {
            name: 'vh',
            domains: ['*'],
            routes: [
              { match: { prefix: '/cb' }, route: { cluster: 'limited' } },
              { match: { prefix: '/hosts' }, route: { cluster: 'half-dead', retry_policy: { retry_on: 'connect-failure', num_retries: 3, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }], host_selection_retry_max_attempts: 5 } } },
              { match: { prefix: '/capped' }, route: { cluster: 'capped' } },
              { match: { prefix: '/' }, route: { cluster: 'good' } },
            ],
          },
        ],
      }),
      [
        staticCluster('limited', [slow.port], { circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1, max_requests: 1 }] } }),
        staticCluster('half-dead', [dead, good.port], { lb_policy: 'ROUND_ROBIN' }),
        staticCluster('capped', [good.port], { max_requests_per_connection: 2 }),
        staticCluster('good', [good.port]),
      ],
    );
  });

  after(async () => {
    agent.destroy();
    await proxy.close();
    await slow.close();
    await good.close();
  });

  it('answers 503 UO when the circuit breaker is full', async () => {
    const rs = await Promise.all([request(proxy.port, '/cb', { agent }), request(proxy.port, '/cb', { agent }), request(proxy.port, '/cb', { agent })]);
    const codes = rs.map((r) => r.status).sort();
    assert.ok(codes.includes(200));
    const over = rs.find((r) => r.status === 503);
    assert.ok(over, `codes ${codes}`);
    assert.equal(over.body, 'upstream connect error or disconnect/reset before headers. reset reason: overflow');
    assert.ok(proxy.stats.counter('cluster.limited.upstream_rq_pending_overflow').value >= 1);
  });

  it('serves the one pending request when the only connection closes (max_requests_per_connection 1)', async () => {
    // The first request's connection is not reused (one request per connection); the queued second
    // request must get the connection slot once that socket is gone, not wait forever for it.
    const held: Array<() => void> = [];
    const backend = await startBackend('held', (_req, res) => held.push(() => res.end('done')));
    const local = await startProxy(simpleHcm({ name: 'rc', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'one' } }] }] }), [
      staticCluster('one', [backend.port], { max_requests_per_connection: 1, circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1 }] } }),
    ]);
    const until = async (what: string, cond: () => boolean): Promise<void> => {
      for (const end = Date.now() + 8000; !cond(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    };
    try {
      const first = request(local.port, '/a', { agent: false, timeoutMs: 10_000 });
      await until('the first request at the backend', () => held.length === 1);
      const second = request(local.port, '/b', { agent: false, timeoutMs: 10_000 });
      await until('the second request queued', () => local.stats.gauge('cluster.one.upstream_rq_pending_active').value === 1);
      held[0]();
      await until('the second request at the backend', () => held.length === 2);
      held[1]();
      const rs = await Promise.all([first, second]);
      assert.deepEqual(rs.map((r) => r.status), [200, 200], rs.map((r) => r.body).join(' | '));
      assert.equal(local.stats.counter('cluster.one.upstream_cx_total').value, 2);
    } finally {
      for (const release of held) release();
      await local.close();
      await backend.close();
    }
  });

  it('opens a connection for a request queued at a host whose pool has none, though another host holds the cluster limit', async () => {
    // Two hosts share max_connections 1: the second host's pool never hears of the first host's
    // connection closing, so (as in Envoy) a pool without any connection opens one anyway.
    const held: Array<() => void> = [];
    const one = await startBackend('one', (_req, res) => held.push(() => res.end('one')));
    const two = await startBackend('two', (_req, res) => held.push(() => res.end('two')));
    const local = await startProxy(simpleHcm({ name: 'rc', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'pair' } }] }] }), [
      staticCluster('pair', [one.port, two.port], { lb_policy: 'ROUND_ROBIN', max_requests_per_connection: 1, circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1 }] } }),
    ]);
    const until = async (what: string, cond: () => boolean): Promise<void> => {
      for (const end = Date.now() + 8000; !cond(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    };
    try {
      const first = request(local.port, '/a', { agent: false, timeoutMs: 10_000 });
      await until('the first request at a backend', () => held.length === 1);
      const second = request(local.port, '/b', { agent: false, timeoutMs: 10_000 });
      await until('the second request at the other backend', () => held.length === 2);
      for (const release of held) release();
      const rs = await Promise.all([first, second]);
      assert.deepEqual(rs.map((r) => r.status), [200, 200]);
      assert.deepEqual(rs.map((r) => r.body).sort(), ['one', 'two']);
    } finally {
      for (const release of held) release();
      await local.close();
      await one.close();
      await two.close();
    }
  });

  it('retries connect failures on another host (previous_hosts)', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await request(proxy.port, '/hosts', { agent });
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).backend, 'good');
    }
  });

  it('closes upstream connections after max_requests_per_connection', async () => {
    const before = good.requests.length;
    for (let i = 0; i < 4; i++) assert.equal((await request(proxy.port, '/capped', { agent })).status, 200);
    const sockets = new Set(good.requests.slice(before).map((r) => r.socket));
    assert.equal(sockets.size, 2);
  });

  it('resends a request once when a kept-alive upstream connection dies under it', async () => {
    // Answers the first request on each connection, then drops the connection when the next arrives.
    const flakySockets = new Set<net.Socket>();
    const flaky = net.createServer((sock) => {
      flakySockets.add(sock);
      let served = 0;
      sock.on('data', () => {
        if (served++ === 0) sock.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        else sock.destroy();
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
    try {
      const local = await startProxy(simpleHcm({ name: 'rc', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'stale' } }] }] }), [
        staticCluster('stale', [(flaky.address() as net.AddressInfo).port]),
      ]);
      try {
        for (let i = 0; i < 4; i++) {
          const r = await request(local.port, '/s', { agent });
          assert.equal(r.status, 200, `request ${i}: ${r.body}`);
        }
        // The dead reused connections are no outcome of the host's: outlier detection heard only
        // the four answers, neither a success nor a failure for the resent attempts.
        const host = (local.clusters.get('stale') as unknown as { hosts: Array<{ rqTotal: number; rqSuccess: number; rqError: number }> }).hosts[0];
        assert.deepEqual({ total: host.rqTotal, success: host.rqSuccess, error: host.rqError }, { total: 4, success: 4, error: 0 });
      } finally {
        await local.close();
      }
    } finally {
      for (const sock of flakySockets) sock.destroy();
      flaky.close();
    }
  });

  it('closes idle upstream connections of a removed cluster', async () => {
    const extra = await startBackend('extra');
    let closed = 0;
    try {
      const local = await startProxy(simpleHcm({ name: 'rc', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'extra' } }] }] }), [
        staticCluster('extra', [extra.port]),
      ]);
      try {
        assert.equal((await request(local.port, '/e', { agent })).status, 200);
        const sock = extra.requests[0].socket;
        sock.on('close', () => closed++);
        local.clusters.remove('extra');
        sweep();
        for (let i = 0; i < 50 && closed === 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(closed, 1);
      } finally {
        await local.close();
      }
    } finally {
      await extra.close();
    }
  });

  it('drains: in-flight requests finish with connection: close, idle connections close', async () => {
    const idle = net.connect(proxy.port, '127.0.0.1');
    await new Promise((r) => idle.once('connect', r));
    const idleClosed = new Promise<void>((r) => idle.once('close', () => r()));
    idle.write('GET /x HTTP/1.1\r\nhost: a\r\n\r\n');
    await new Promise((r) => idle.once('data', r));
    const inflight = request(proxy.port, '/cb', { agent: false });
    await new Promise((r) => setTimeout(r, 100));
    proxy.filter.drain!();
    await idleClosed;
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.headers.connection, 'close');
  });
});
