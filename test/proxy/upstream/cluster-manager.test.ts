import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SailfinError } from '../../../src/common/errors.js';
import { type Backend, fetchName, newManager, pickMany, counts, startBackend, staticCluster } from './helpers.js';

test('a STATIC cluster connects to its endpoints over real sockets, round robin, with stats', async () => {
  const backends: Backend[] = await Promise.all(['a', 'b', 'c'].map(startBackend));
  const { cm, stats } = newManager();
  try {
    const c = cm.addOrUpdate(staticCluster('svc', backends.map((b) => b.port)), 'static_resources.clusters[0]');
    assert.deepEqual(cm.names(), ['svc']);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(await fetchName(c, c.chooseHost({})!));
    assert.deepEqual([...counts(seen).values()], [2, 2, 2]);
    assert.equal(stats.counter('cluster.svc.upstream_cx_total').value, 6);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(stats.gauge('cluster.svc.upstream_cx_active').value, 0);
    assert.equal(stats.gauge('cluster.svc.membership_total').value, 3);
  } finally {
    cm.close();
    await Promise.all(backends.map((b) => b.close()));
  }
});

test('a bad cluster is rejected naming the field, and the old cluster stays in force', () => {
  const { cm } = newManager();
  const good = cm.addOrUpdate(staticCluster('svc', [1000]), 'clusters[0]');
  assert.throws(
    () => cm.addOrUpdate(staticCluster('svc', [1000], { lb_policy: 'FOO' }), 'static_resources.clusters[2]'),
    (e: unknown) => e instanceof SailfinError && e.field === 'static_resources.clusters[2].lb_policy' && /unsupported value "FOO"/.test(e.message),
  );
  assert.throws(
    () => cm.addOrUpdate(staticCluster('svc', [1000], { health_checks: [{}] }), 'c'),
    (e: unknown) => e instanceof SailfinError && e.field === 'c.health_checks',
  );
  assert.throws(() => cm.addOrUpdate(staticCluster('svc', [1000], { bogus: 1 }), 'c'), (e: unknown) => e instanceof SailfinError && e.field === 'c.bogus');
  assert.throws(
    () => cm.addOrUpdate({ name: 'svc', load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '1.2.3.4', port_value: 70000 } } } }] }] } }, 'c'),
    (e: unknown) => e instanceof SailfinError && e.field === 'c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
  );
  assert.equal(cm.get('svc'), good);
  cm.close();
});

test('replacing a cluster leaves the old object usable for in-flight requests; removing drops its stats', async () => {
  const [a, b] = await Promise.all(['a', 'b'].map(startBackend));
  const { cm, stats } = newManager();
  try {
    const old = cm.addOrUpdate(staticCluster('svc', [a.port]), 'c');
    const inFlightHost = old.chooseHost({})!;
    const fresh = cm.addOrUpdate(staticCluster('svc', [b.port]), 'c');
    assert.notEqual(old, fresh);
    assert.equal(cm.get('svc'), fresh);
    assert.equal(await fetchName(old, inFlightHost), 'a');
    assert.equal(await fetchName(fresh, fresh.chooseHost({})!), 'b');
    assert.equal(stats.counter('cluster.svc.upstream_cx_total').value, 2, 'both versions count into the same stats');
    assert.ok(cm.remove('svc'));
    assert.equal(cm.get('svc'), undefined);
    assert.equal([...stats.counters.keys()].filter((k) => k.startsWith('cluster.svc.')).length, 0);
  } finally {
    cm.close();
    await Promise.all([a.close(), b.close()]);
  }
});

test('dump() and the /clusters renderers show clusters and hosts the way Envoy does', () => {
  const { cm } = newManager();
  cm.addOrUpdate(staticCluster('static-one', [8080]), 'c', { static: true });
  cm.addOrUpdate({ name: 'eds-one', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } }, 'c', { versionInfo: 'v7' });
  cm.updateEndpoints('eds-one', { cluster_name: 'eds-one', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.9', port_value: 9080 } } } }] }] });
  const dump = cm.configDump();
  assert.equal((dump.static_clusters as { cluster: { name: string } }[])[0].cluster.name, 'static-one');
  const dyn = (dump.dynamic_active_clusters as { cluster: Record<string, unknown>; version_info: string }[])[0];
  assert.equal(dyn.cluster.name, 'eds-one');
  assert.equal(dyn.cluster['@type'], 'type.googleapis.com/envoy.config.cluster.v3.Cluster');
  assert.equal(dyn.version_info, 'v7');
  assert.equal(cm.dump().length, 2);
  const text = cm.clustersText();
  assert.match(text, /^static-one::127\.0\.0\.1:8080::health_flags::healthy$/m);
  assert.match(text, /^eds-one::10\.0\.0\.9:9080::cx_active::0$/m);
  assert.match(text, /^eds-one::10\.0\.0\.9:9080::rq_active::0$/m);
  assert.match(text, /^static-one::default_priority::max_connections::1024$/m);
  assert.match(text, /^static-one::added_via_api::false$/m);
  const json = cm.clustersJson();
  assert.equal(json.cluster_statuses.length, 2);
  assert.deepEqual(pickMany(cm.get('eds-one')!, 2), ['10.0.0.9:9080', '10.0.0.9:9080']);
  cm.close();
});

test('an idle cluster registers no stats; once used it shows its core stats, zeros included', () => {
  const { cm, stats } = newManager();
  const c = cm.addOrUpdate(staticCluster('idle', [8080], { circuit_breakers: { thresholds: [{ track_remaining: true }] } }), 'c');
  const names = () => [...stats.counters.keys(), ...stats.gauges.keys(), ...stats.histograms.keys()].filter((k) => k.startsWith('cluster.idle.'));
  assert.deepEqual(names(), []);
  c.chooseHost({});
  const after = names();
  for (const n of ['upstream_rq_total', 'upstream_rq_pending_overflow', 'upstream_cx_active', 'upstream_rq_5xx', 'membership_total', 'upstream_rq_time']) {
    assert.ok(after.includes(`cluster.idle.${n}`), `${n} registered`);
  }
  assert.equal(stats.counter('cluster.idle.upstream_rq_pending_overflow').value, 0);
  c.resources.requests.inc();
  assert.equal(stats.gauge('cluster.idle.circuit_breakers.default.remaining_rq').value, 1023);
  cm.close();
});

test('an unchanged cluster or assignment resent by CDS/EDS keeps the same objects (hosts, ejections, pools)', () => {
  const { cm } = newManager();
  const json = { name: 'svc', type: 'EDS', outlier_detection: { consecutive_5xx: 1, max_ejection_percent: 100 } };
  const c = cm.addOrUpdate(json, 'c', { versionInfo: '1' });
  const cla = { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } }] }] };
  cm.updateEndpoints('svc', cla);
  const host = c.hosts[0];
  c.reportResult(host, { kind: 'http', status: 503 });
  assert.equal(host.ejected, true);
  assert.equal(cm.addOrUpdate(JSON.parse(JSON.stringify(json)), 'c', { versionInfo: '2' }), c);
  cm.updateEndpoints('svc', JSON.parse(JSON.stringify(cla)));
  assert.equal(c.hosts[0], host);
  assert.equal(host.ejected, true);
  assert.equal((cm.configDump().dynamic_active_clusters as { version_info: string }[])[0].version_info, '2');
  const changed = cm.addOrUpdate({ ...json, connect_timeout: '2s' }, 'c');
  assert.notEqual(changed, c);
  assert.equal(changed.hosts.length, 1, 'a changed cluster starts with the EDS endpoints it had');
  cm.close();
});
