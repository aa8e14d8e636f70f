import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Host } from '../../../src/proxy/upstream/api.js';
import type { ClusterImpl } from '../../../src/proxy/upstream/cluster.js';
import type { JsonObject } from '../../../src/proxy/config/fields.js';
import { type Backend, connectAsync, fetchName, newManager, staticCluster, startBackend } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

/** One request: pick a host, talk to it, report the status the backend answered with. */
async function request(c: ClusterImpl): Promise<string> {
  const host = c.chooseHost({})!;
  const status = Number(await fetchName(c, host));
  c.reportResult(host, { kind: 'http', status });
  return `${status}`;
}

async function withBackends(names: string[], od: JsonObject, fn: (c: ClusterImpl, backends: Backend[], stats: ReturnType<typeof newManager>['stats']) => Promise<void>): Promise<void> {
  const backends = await Promise.all(names.map(startBackend));
  const { cm, stats } = newManager();
  try {
    const c = cm.addOrUpdate(staticCluster('svc', backends.map((b) => b.port), { outlier_detection: od }), 'c');
    await fn(c, backends, stats);
  } finally {
    cm.close();
    await Promise.all(backends.map((b) => b.close()));
  }
}

test('consecutive 5xx eject a failing host: traffic stops reaching it, and it returns after base_ejection_time × ejections', async () => {
  // base_ejection_time is long enough that the ten requests below finish inside the ejection even on a
  // loaded machine (at 0.4 s a slow scheduler let the host back in before the check).
  await withBackends(['503', '200'], { consecutive_5xx: 3, interval: '0.1s', base_ejection_time: '1.5s', max_ejection_percent: 100 }, async (c, _b, stats) => {
    const active = () => stats.gauge('cluster.svc.outlier_detection.ejections_active').value;
    const failing = c.hosts[0];
    const first: string[] = [];
    for (let i = 0; i < 6; i++) first.push(await request(c));
    assert.equal(first.filter((s) => s === '503').length, 3, 'round robin reaches the failing host 3 times, then it is ejected');
    assert.equal(active(), 1);
    assert.equal(stats.counter('cluster.svc.outlier_detection.ejections_enforced_consecutive_5xx').value, 1);
    assert.match(c.hosts.map((h) => h.healthFlags()).join(' '), /failed_outlier_check/);
    for (let i = 0; i < 10; i++) assert.equal(await request(c), '200', 'no traffic to the ejected host');
    const firstEjection = failing.outlier.ejectedAt;
    await until(() => active() === 0, 6000);
    const out1 = Date.now() - firstEjection;
    assert.ok(out1 >= 1500, `back after ${out1} ms (base 1.5 s)`);
    const again: string[] = [];
    for (let i = 0; i < 6; i++) again.push(await request(c));
    assert.equal(again.filter((s) => s === '503').length, 3);
    // The second ejection lasts twice the base time.
    const second = failing.outlier.ejectedAt;
    await until(() => active() === 0, 8000);
    const out2 = Date.now() - second;
    assert.ok(out2 >= 3000, `second ejection lasted ${out2} ms (2 × 1.5 s)`);
  });
});

test('max_ejection_percent (Envoy and Istio default 10 %) keeps hosts in when ejecting would exceed it', async () => {
  await withBackends(['503', '200'], { consecutive_5xx: 2, interval: '1s' }, async (c, _b, stats) => {
    for (let i = 0; i < 8; i++) await request(c);
    assert.equal(stats.gauge('cluster.svc.outlier_detection.ejections_active').value, 0);
    assert.ok(stats.counter('cluster.svc.outlier_detection.ejections_overflow').value >= 1);
  });
});

test('gateway failures (502/503/504) are only enforced when enforcing_consecutive_gateway_failure is set; a 500 breaks the run', async () => {
  await withBackends(['502', '200'], { consecutive_5xx: 100, consecutive_gateway_failure: 2, interval: '1s', max_ejection_percent: 100 }, async (c, _b, stats) => {
    for (let i = 0; i < 6; i++) await request(c);
    assert.equal(stats.counter('cluster.svc.outlier_detection.ejections_detected_consecutive_gateway_failure').value > 0, true);
    assert.equal(stats.gauge('cluster.svc.outlier_detection.ejections_active').value, 0, 'detected, not enforced (default 0 %)');
  });
  await withBackends(['502', '200'], { consecutive_5xx: 100, consecutive_gateway_failure: 2, enforcing_consecutive_gateway_failure: 100, interval: '1s', max_ejection_percent: 100 }, async (c, _b, stats) => {
    const host = c.hosts[0];
    c.reportResult(host, { kind: 'http', status: 502 });
    c.reportResult(host, { kind: 'http', status: 500 });
    c.reportResult(host, { kind: 'http', status: 503 });
    assert.equal(host.ejected, false, 'a 500 resets the gateway-failure run');
    c.reportResult(host, { kind: 'timeout' });
    assert.equal(host.ejected, true, 'a timeout counts as 504');
    assert.equal(stats.counter('cluster.svc.outlier_detection.ejections_enforced_consecutive_gateway_failure').value, 1);
  });
});

test('connection failures count as 5xx: a host that refuses connections is ejected', async () => {
  const good = await startBackend('200');
  const dead = await startBackend('x');
  const deadPort = dead.port;
  await dead.close();
  const { cm, stats } = newManager();
  try {
    const c = cm.addOrUpdate(staticCluster('svc', [deadPort, good.port], { outlier_detection: { consecutive_5xx: 2, interval: '1s', max_ejection_percent: 50 } }), 'c');
    const results: string[] = [];
    for (let i = 0; i < 8; i++) {
      const h: Host = c.chooseHost({})!;
      try {
        await connectAsync(c, h).then((r) => r.socket.destroy());
        results.push('ok');
      } catch (err) {
        assert.equal((err as { failure?: string }).failure, 'connection_failure');
        results.push('fail');
      }
    }
    assert.deepEqual(results.filter((r) => r === 'fail').length, 2);
    // A caller that also reports the failure (as the router does) does not double-count it.
    c.reportResult(c.hosts[0], { kind: 'connect_failed' });
    assert.equal(c.hosts[0].outlier.consecutive5xx, 0);
    assert.equal(stats.gauge('cluster.svc.outlier_detection.ejections_active').value, 1);
    assert.equal(stats.counter('cluster.svc.upstream_cx_connect_fail').value, 2);
  } finally {
    cm.close();
    await good.close();
  }
});

test('an EDS update keeps a host\'s ejection and counters when its address is unchanged', () => {
  const { cm, stats } = newManager();
  const c = cm.addOrUpdate({ name: 'svc', type: 'EDS', outlier_detection: { consecutive_5xx: 1, max_ejection_percent: 100 } }, 'c');
  const ep = (ip: string, weight = 1) => ({ endpoint: { address: { socket_address: { address: ip, port_value: 80 } } }, load_balancing_weight: weight });
  cm.updateEndpoints('svc', { endpoints: [{ lb_endpoints: [ep('10.0.0.1'), ep('10.0.0.2')] }] });
  const [h1] = c.hosts;
  h1.activeRequests = 4;
  c.reportResult(h1, { kind: 'http', status: 503 });
  assert.equal(h1.ejected, true);
  cm.updateEndpoints('svc', { endpoints: [{ lb_endpoints: [ep('10.0.0.1', 5), ep('10.0.0.3')] }] });
  assert.equal(c.hosts[0], h1, 'same object');
  assert.equal(h1.weight, 5, 'new attributes applied');
  assert.equal(h1.ejected, true);
  assert.equal(h1.activeRequests, 4);
  assert.equal(h1.rqError, 1);
  assert.equal(stats.gauge('cluster.svc.outlier_detection.ejections_active').value, 1);
  cm.updateEndpoints('svc', { endpoints: [{ lb_endpoints: [ep('10.0.0.3')] }] });
  assert.equal(stats.gauge('cluster.svc.outlier_detection.ejections_active').value, 0, 'a removed host takes its ejection with it');
  cm.close();
});
