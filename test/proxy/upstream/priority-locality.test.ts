import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../../src/proxy/config/fields.js';
import { counts, lbEndpoint, newManager, pickMany } from './helpers.js';

type Ep = { ip: string; health?: string };
interface Group {
  priority?: number;
  zone?: string;
  weight?: number;
  hosts: Ep[];
}

function cluster(groups: Group[], extra: JsonObject = {}, policy = 'ROUND_ROBIN') {
  const { cm } = newManager();
  const c = cm.addOrUpdate({ name: 'svc', type: 'EDS', lb_policy: policy, ...extra }, 'c');
  cm.updateEndpoints('svc', {
    endpoints: groups.map((g) => ({
      priority: g.priority ?? 0,
      ...(g.zone ? { locality: { region: 'r1', zone: g.zone } } : {}),
      ...(g.weight ? { load_balancing_weight: g.weight } : {}),
      lb_endpoints: g.hosts.map((h) => lbEndpoint(80, h.health ? { health_status: h.health } : {}, h.ip)),
    })),
  });
  return { cm, c };
}

const share = (picks: string[], prefix: string): number => picks.filter((p) => p.startsWith(prefix)).length / picks.length;

test('all traffic goes to priority 0 while it is healthy, and fails over to priority 1 when it is not', () => {
  const healthy = cluster([{ priority: 0, hosts: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }] }, { priority: 1, hosts: [{ ip: '10.1.0.1' }] }]);
  assert.equal(share(pickMany(healthy.c, 500), '10.0.0.'), 1);
  healthy.cm.close();

  const down = cluster([
    { priority: 0, hosts: [{ ip: '10.0.0.1', health: 'UNHEALTHY' }, { ip: '10.0.0.2', health: 'DRAINING' }] },
    { priority: 1, hosts: [{ ip: '10.1.0.1' }, { ip: '10.1.0.2' }] },
  ]);
  assert.equal(share(pickMany(down.c, 500), '10.1.0.'), 1);
  down.cm.close();
});

test('a partly healthy priority keeps healthy% × 1.4 of the traffic and spills the rest to the next', () => {
  // P0: 1 of 2 healthy → 50 % × 1.4 = 70 % stays in P0, 30 % goes to P1.
  const { cm, c } = cluster([
    { priority: 0, hosts: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2', health: 'UNHEALTHY' }] },
    { priority: 1, hosts: [{ ip: '10.1.0.1' }] },
  ]);
  const picks = pickMany(c, 4000);
  const p0 = share(picks, '10.0.0.');
  assert.ok(p0 > 0.66 && p0 < 0.74, `P0 share ${p0}`);
  assert.equal(picks.filter((p) => p === '10.0.0.2:80').length, 0, 'the unhealthy host gets nothing');
  cm.close();

  const custom = cluster([
    { priority: 0, hosts: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2', health: 'UNHEALTHY' }] },
    { priority: 1, hosts: [{ ip: '10.1.0.1' }] },
  ]);
  custom.cm.updateEndpoints('svc', {
    policy: { overprovisioning_factor: 100 },
    endpoints: [
      { priority: 0, lb_endpoints: [lbEndpoint(80, {}, '10.0.0.1'), lbEndpoint(80, { health_status: 'UNHEALTHY' }, '10.0.0.2')] },
      { priority: 1, lb_endpoints: [lbEndpoint(80, {}, '10.1.0.1')] },
    ],
  });
  const p0b = share(pickMany(custom.c, 4000), '10.0.0.');
  assert.ok(p0b > 0.46 && p0b < 0.54, `P0 share with overprovisioning 100: ${p0b}`);
  custom.cm.close();
});

test('below the panic threshold a priority uses all its hosts; with the threshold at 0 it never does', () => {
  const hosts = [{ ip: '10.0.0.1' }, { ip: '10.0.0.2', health: 'UNHEALTHY' }, { ip: '10.0.0.3', health: 'UNHEALTHY' }, { ip: '10.0.0.4', health: 'UNHEALTHY' }];
  const panic = cluster([{ hosts }]);
  assert.equal(counts(pickMany(panic.c, 400)).size, 4, '25 % healthy < 50 %: every host is used');
  panic.cm.close();

  const noPanic = cluster([{ hosts }], { common_lb_config: { healthy_panic_threshold: { value: 0 } } });
  assert.deepEqual([...counts(pickMany(noPanic.c, 100)).keys()], ['10.0.0.1:80']);
  noPanic.cm.close();

  const none = cluster([{ hosts: [{ ip: '10.0.0.1', health: 'UNHEALTHY' }] }], { common_lb_config: { healthy_panic_threshold: { value: 0 } } });
  assert.equal(none.c.chooseHost({}), null, 'no healthy upstream');
  assert.equal(none.c.stats.upstream_cx_none_healthy.value, 1);
  none.cm.close();
});

test('locality weights split traffic between localities, regardless of how many hosts each has', () => {
  const { cm, c } = cluster(
    [
      { zone: 'a', weight: 1, hosts: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }] },
      { zone: 'b', weight: 3, hosts: [{ ip: '10.0.1.1' }] },
    ],
    { common_lb_config: { locality_weighted_lb_config: {} } },
  );
  const picks = pickMany(c, 400);
  assert.equal(share(picks, '10.0.1.'), 0.75);
  assert.deepEqual([...counts(picks.filter((p) => p.startsWith('10.0.0.'))).values()].sort(), [33, 33, 34], 'round robin inside the locality');
  cm.close();
});

test('a locality loses weight with its healthy hosts (× 1.4) and the rest goes to the other locality', () => {
  const { cm, c } = cluster(
    [
      { zone: 'a', weight: 1, hosts: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2', health: 'UNHEALTHY' }, { ip: '10.0.0.3', health: 'UNHEALTHY' }, { ip: '10.0.0.4', health: 'UNHEALTHY' }, { ip: '10.0.0.5' }] },
      { zone: 'b', weight: 1, hosts: [{ ip: '10.0.1.1' }] },
    ],
    { common_lb_config: { locality_weighted_lb_config: {}, healthy_panic_threshold: { value: 0 } } },
  );
  // Zone a: 2 of 5 healthy → availability 0.4 × 1.4 = 0.56; zone b: 1. Share of a = 0.56 / 1.56.
  const a = share(pickMany(c, 1560), '10.0.0.');
  assert.ok(Math.abs(a - 0.56 / 1.56) < 0.01, `zone a share ${a}`);
  cm.close();
});

test('hash-based policies fold locality weights into host weights', () => {
  const { cm, c } = cluster(
    [
      { zone: 'a', weight: 1, hosts: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }] },
      { zone: 'b', weight: 3, hosts: [{ ip: '10.0.1.1' }] },
    ],
    { common_lb_config: { locality_weighted_lb_config: {} } },
    'MAGLEV',
  );
  const picks = Array.from({ length: 4000 }, (_, i) => c.chooseHost({ hash: i * 7919 })!.addressString);
  const b = share(picks, '10.0.1.');
  assert.ok(b > 0.7 && b < 0.8, `zone b share ${b}`);
  cm.close();
});
