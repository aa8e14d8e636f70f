import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashKey } from '../../../src/proxy/upstream/hash.js';
import type { JsonObject } from '../../../src/proxy/config/fields.js';
import { counts, lbEndpoint, newManager, pickMany } from './helpers.js';

/** An EDS cluster with the given lb policy and one locality of hosts on 10.0.0.x:80. */
function edsCluster(policy: string, hosts: { ip: string; weight?: number }[], extra: JsonObject = {}) {
  const { cm, stats } = newManager();
  const c = cm.addOrUpdate({ name: 'svc', type: 'EDS', lb_policy: policy, eds_cluster_config: { service_name: 'svc' }, ...extra }, 'c');
  const update = (list: { ip: string; weight?: number }[]): void =>
    cm.updateEndpoints('svc', { endpoints: [{ lb_endpoints: list.map((h) => lbEndpoint(80, h.weight ? { load_balancing_weight: h.weight } : {}, h.ip)) }] });
  update(hosts);
  return { cm, stats, c, update };
}

const ips = (n: number, from = 1) => Array.from({ length: n }, (_, i) => ({ ip: `10.0.0.${i + from}` }));

test('ROUND_ROBIN gives each host exactly its turn, in a fixed cycle', () => {
  const { cm, c } = edsCluster('ROUND_ROBIN', ips(3));
  const picks = pickMany(c, 300);
  assert.deepEqual([...counts(picks).values()], [100, 100, 100]);
  for (let i = 3; i < picks.length; i++) assert.equal(picks[i], picks[i - 3], 'the cycle repeats every 3 picks');
  cm.close();
});

test('an endpoint update that changes nothing the balancer reads keeps the round-robin position', () => {
  const { cm, c, update } = edsCluster('ROUND_ROBIN', ips(3));
  const first = pickMany(c, 2);
  // Same hosts, new metadata (what a DNS refresh or an EDS push with new labels looks like).
  c.setEndpoints(c.hosts.map((h) => ({ address: h.address, port: h.port, weight: h.weight, locality: h.locality, localityWeight: h.localityWeight, priority: h.priority, metadata: { istio: { rev: 2 } }, health: h.edsHealth })), 140);
  const next = pickMany(c, 4);
  assert.deepEqual([...first, ...next].slice(3), [...first, ...next].slice(0, 3), 'the cycle carries on');
  update(ips(4));
  assert.equal(new Set(pickMany(c, 4)).size, 4, 'a real change rebuilds');
  cm.close();
});

test('weighted ROUND_ROBIN gives exact shares and spreads them out (no bursts)', () => {
  const { cm, c } = edsCluster('ROUND_ROBIN', [{ ip: '10.0.0.1', weight: 1 }, { ip: '10.0.0.2', weight: 2 }, { ip: '10.0.0.3', weight: 5 }]);
  const picks = pickMany(c, 800);
  const n = counts(picks);
  assert.equal(n.get('10.0.0.1:80'), 100);
  assert.equal(n.get('10.0.0.2:80'), 200);
  assert.equal(n.get('10.0.0.3:80'), 500);
  let longestRun = 1;
  for (let i = 1, run = 1; i < picks.length; i++) longestRun = Math.max(longestRun, (run = picks[i] === picks[i - 1] ? run + 1 : 1));
  assert.ok(longestRun <= 3, `longest run of one host was ${longestRun}`);
  cm.close();
});

test('LEAST_REQUEST prefers the idle host and keeps held load balanced', () => {
  const { cm, c } = edsCluster('LEAST_REQUEST', ips(2));
  const [a, b] = c.hosts;
  b.activeRequests = 10;
  const idle = pickMany(c, 2000).filter((p) => p === a.addressString).length;
  // Two random choices out of two hosts miss the idle one only when both land on the busy one (1/4).
  assert.ok(idle > 1350 && idle < 1650, `idle host got ${idle}/2000`);
  b.activeRequests = 0;
  cm.close();

  const three = edsCluster('LEAST_REQUEST', ips(3));
  // Held requests stay within a few of each other (random placement would spread by ~50 here).
  for (let i = 0; i < 3000; i++) three.c.chooseHost({})!.activeRequests++;
  const loads = three.c.hosts.map((h) => h.activeRequests);
  assert.ok(Math.max(...loads) - Math.min(...loads) <= 12, `loads ${loads}`);
  three.cm.close();
});

test('weighted LEAST_REQUEST follows weights, divided by active requests', () => {
  const { cm, c } = edsCluster('LEAST_REQUEST', [{ ip: '10.0.0.1', weight: 1 }, { ip: '10.0.0.2', weight: 3 }]);
  const n = counts(pickMany(c, 400));
  assert.equal(n.get('10.0.0.1:80'), 100);
  assert.equal(n.get('10.0.0.2:80'), 300);
  // The heavy host is now busy: weight 3 / (5 + 1) = 0.5 against 1 / 1, so the light host gets about 2/3.
  c.hosts[1].activeRequests = 5;
  const m = counts(pickMany(c, 300));
  assert.ok(m.get('10.0.0.1:80')! > 170 && m.get('10.0.0.1:80')! < 230, `light host got ${m.get('10.0.0.1:80')}`);
  cm.close();
});

test('RANDOM spreads evenly, and by weight when weights differ', () => {
  const { cm, c } = edsCluster('RANDOM', ips(3));
  for (const v of counts(pickMany(c, 3000)).values()) assert.ok(v > 850 && v < 1150, `${v}`);
  cm.close();
  const w = edsCluster('RANDOM', [{ ip: '10.0.0.1', weight: 1 }, { ip: '10.0.0.2', weight: 3 }]);
  const heavy = pickMany(w.c, 4000).filter((p) => p === '10.0.0.2:80').length;
  assert.ok(heavy > 2850 && heavy < 3150, `${heavy}`);
  w.cm.close();
});

for (const policy of ['RING_HASH', 'MAGLEV']) {
  test(`${policy}: the same key always reaches the same host, and adding a host moves only its share of keys`, () => {
    const { cm, c, update } = edsCluster(policy, ips(10));
    const keys = Array.from({ length: 2000 }, (_, i) => hashKey(`user-${i}`));
    const before = keys.map((hash) => c.chooseHost({ hash })!.addressString);
    assert.deepEqual(keys.map((hash) => c.chooseHost({ hash })!.addressString), before);
    for (const v of counts(before).values()) assert.ok(v > 100 && v < 320, `share ${v}/2000 of 10 hosts`);
    update(ips(11));
    const after = keys.map((hash) => c.chooseHost({ hash })!.addressString);
    const moved = after.filter((h, i) => h !== before[i]);
    const toNew = moved.filter((h) => h === '10.0.0.11:80').length;
    // The new host takes about 1/11 of the keys. A ring also gives every host fewer entries when the
    // host count grows (ceil(min_ring_size / N) each, as Envoy builds it), which moves some more keys
    // between old hosts; a Maglev table moves very few besides the new host's share.
    assert.ok(toNew > 2000 * 0.05 && toNew < 2000 * 0.14, `${toNew} keys moved to the new host`);
    const limit = policy === 'RING_HASH' ? 0.2 : 0.12;
    assert.ok(moved.length < 2000 * limit, `${moved.length} keys moved in all`);
    cm.close();
  });

  test(`${policy}: host weights set the share of keys, and retries avoid the previous host deterministically`, () => {
    const { cm, c } = edsCluster(policy, [{ ip: '10.0.0.1', weight: 1 }, { ip: '10.0.0.2', weight: 3 }]);
    const picks = Array.from({ length: 4000 }, (_, i) => c.chooseHost({ hash: hashKey(`k${i}`) })!.addressString);
    const heavy = picks.filter((p) => p === '10.0.0.2:80').length;
    assert.ok(heavy > 2700 && heavy < 3300, `heavy host got ${heavy}/4000`);
    const hash = hashKey('sticky');
    const first = c.chooseHost({ hash })!;
    const retry = c.chooseHost({ hash, previousHosts: [first] })!;
    assert.notEqual(retry, first);
    assert.equal(c.chooseHost({ hash, previousHosts: [first] }), retry);
    cm.close();
  });
}

test('a 32-bit hash from any function (the router\'s FNV-1a, say) spreads over the ring and table', () => {
  const fnv = (s: string): number => {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    return h;
  };
  for (const policy of ['RING_HASH', 'MAGLEV']) {
    const { cm, c } = edsCluster(policy, ips(4));
    const n = counts(Array.from({ length: 4000 }, (_, i) => c.chooseHost({ hash: fnv(`session-${i}`) })!.addressString));
    assert.equal(n.size, 4, policy);
    for (const v of n.values()) assert.ok(v > 600 && v < 1450, `${policy}: ${v}/4000`);
    cm.close();
  }
});

test('ring_hash_lb_config sizes the ring and maglev_lb_config the table', () => {
  const { cm, c } = edsCluster('RING_HASH', ips(3), { ring_hash_lb_config: { minimum_ring_size: 64, maximum_ring_size: 128 } });
  const picks = new Set(Array.from({ length: 500 }, (_, i) => c.chooseHost({ hash: hashKey(`x${i}`) })!.addressString));
  assert.equal(picks.size, 3);
  cm.close();
  const m = edsCluster('MAGLEV', ips(3), { maglev_lb_config: { table_size: 251 } });
  assert.equal(new Set(Array.from({ length: 500 }, (_, i) => m.c.chooseHost({ hash: i })!.addressString)).size, 3);
  m.cm.close();
});

test('previous_hosts: a retry is not sent to a host already tried when another is available', () => {
  const rr = edsCluster('ROUND_ROBIN', ips(3));
  const [h1, h2, h3] = rr.c.hosts;
  for (let i = 0; i < 50; i++) assert.equal(rr.c.chooseHost({ previousHosts: [h1, h2] }), h3);
  rr.cm.close();
  // Random choices re-pick up to 5 times (Istio's host_selection_retry_max_attempts), so a miss of
  // all 5 among 3 hosts with 2 excluded happens (2/3)^5 ≈ 13 % of the time, as in Envoy.
  for (const policy of ['LEAST_REQUEST', 'RANDOM']) {
    const { cm, c } = edsCluster(policy, ips(3));
    const [a, b, other] = c.hosts;
    const hits = Array.from({ length: 400 }, () => c.chooseHost({ previousHosts: [a, b] })).filter((h) => h === other).length;
    assert.ok(hits > 310, `${policy}: ${hits}/400 avoided the previous hosts`);
    cm.close();
  }
});
