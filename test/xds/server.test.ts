import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { AdsServer } from '../../src/xds/server.js';
import { MonitoringServer } from '../../src/xds/monitoring.js';
import { serveXds } from '../../src/xds/serve.js';
import { TypeUrl } from '../../src/xds/protos.js';
import type { SyncStatusEntry } from '../../src/xds/debug-views.js';
import { RawAdsStream, StaticGenerator, cla, cluster, decoded, namesOf, silent, tcpListener, waitFor } from './helpers.js';

async function startServer(generator: StaticGenerator, quietMs = 100): Promise<AdsServer> {
  const server = new AdsServer({ generator, host: '127.0.0.1', port: 0, logger: silent, debounce: { quietMs, maxDelayMs: 2000 } });
  await server.start();
  return server;
}

function sampleGenerator(): StaticGenerator {
  return new StaticGenerator()
    .set(TypeUrl.Cluster, 'a', cluster('a'))
    .set(TypeUrl.Cluster, 'b', cluster('b'))
    .set(TypeUrl.ClusterLoadAssignment, 'a', cla('a', 1001))
    .set(TypeUrl.ClusterLoadAssignment, 'b', cla('b', 1002))
    .set(TypeUrl.Listener, 'l1', tcpListener('l1', 2001, 'a'));
}

test('wildcard LDS/CDS get everything; EDS gets only the names asked for, and more when the subscription grows', async (t) => {
  const server = await startServer(sampleGenerator());
  const stream = new RawAdsStream(server.port!, 'sidecar~10.0.0.1~p.default~default.svc.cluster.local');
  t.after(async () => {
    stream.close();
    await server.close();
  });
  stream.send({ type_url: TypeUrl.Cluster, resource_names: [] });
  const cds = await stream.next();
  assert.equal(cds.type_url, TypeUrl.Cluster);
  assert.deepEqual(namesOf(cds), ['a', 'b']);
  assert.ok(cds.version_info && cds.nonce);
  stream.answer(cds);
  stream.send({ type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['b'] });
  const eds = await stream.next();
  assert.deepEqual(namesOf(eds), ['b']);
  assert.deepEqual(decoded(eds)[0], cla('b', 1002));
  stream.answer(eds, ['a', 'b']);
  const eds2 = await stream.next();
  assert.deepEqual(namesOf(eds2), ['a', 'b']);
  assert.notEqual(eds2.nonce, eds.nonce);
  stream.send({ type_url: TypeUrl.Listener, resource_names: ['*'] });
  assert.deepEqual(namesOf(await stream.next()), ['l1']);
  // A type the server does not serve gets no answer rather than an error.
  stream.send({ type_url: 'type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration', resource_names: [] });
  assert.deepEqual(await stream.drain(150), []);
});

test('ACK records the version; a NACK is kept with its message, logged, counted, and the acked version stays', async (t) => {
  const generator = sampleGenerator();
  const logLines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  const server = new AdsServer({ generator, host: '127.0.0.1', port: 0, logger, debounce: { quietMs: 20 } });
  await server.start();
  const monitoring = new MonitoringServer({ ads: server, host: '127.0.0.1', port: 0 });
  await monitoring.start();
  const stream = new RawAdsStream(server.port!, 'proxy-1', { NAMESPACE: 'default', LABELS: { app: 'x' } });
  t.after(async () => {
    stream.close();
    await monitoring.close();
    await server.close();
  });
  const nacks: string[] = [];
  server.on('nack', (_p, _t, nack) => nacks.push(nack.message));
  stream.send({ type_url: TypeUrl.Cluster, resource_names: [] });
  const first = await stream.next();
  stream.answer(first);
  await waitFor(() => server.connectionFor('proxy-1')?.watches.get(TypeUrl.Cluster)?.ackedVersion === first.version_info, 2000, 'ACK');
  assert.deepEqual(server.connectionFor('proxy-1')!.metadata, { NAMESPACE: 'default', LABELS: { app: 'x' } });

  generator.set(TypeUrl.Cluster, 'c', cluster('c', { lb_policy: 'RING_HASH' }));
  server.push({ reason: 'config' });
  const second = await stream.next();
  assert.deepEqual(namesOf(second), ['a', 'b', 'c']);
  assert.notEqual(second.version_info, first.version_info);
  // The proxy rejects it and says it still runs the first version.
  stream.answer(second, [], 'cluster c: lb_policy RING_HASH is not supported', first.version_info);
  await waitFor(() => nacks.length === 1, 2000, 'NACK event');
  assert.match(nacks[0], /RING_HASH/);
  const logged = logLines.find((l) => l.msg === 'xds: proxy rejected config (NACK)');
  assert.ok(logged, 'the NACK is logged');
  assert.equal(logged.proxy, 'proxy-1');
  assert.equal(logged.type, 'CDS');
  assert.equal(logged.rejectedVersion, second.version_info);
  assert.equal(logged.keeps, first.version_info);
  assert.match(String(logged.error), /RING_HASH/);

  const syncz = (await (await fetch(`http://127.0.0.1:${monitoring.port}/debug/syncz`)).json()) as SyncStatusEntry[];
  assert.equal(syncz.length, 1);
  const cds = syncz[0].types.CDS;
  assert.equal(syncz[0].proxy, 'proxy-1');
  assert.equal(cds.subscribed, '*');
  assert.equal(cds.sentVersion, second.version_info);
  assert.equal(cds.ackedVersion, first.version_info);
  assert.equal(cds.state, 'NACKED');
  assert.match(cds.lastNack!.message, /RING_HASH/);
  const metrics = await (await fetch(`http://127.0.0.1:${monitoring.port}/metrics`)).text();
  assert.match(metrics, /pilot_total_xds_rejects\{type="cds"\} 1/);
  assert.match(metrics, /pilot_xds 1/);

  const dump = (await (await fetch(`http://127.0.0.1:${monitoring.port}/debug/config_dump?proxyID=proxy-1`)).json()) as any;
  const clusters = dump.configs.find((c: any) => c['@type'].endsWith('ClustersConfigDump'));
  assert.deepEqual(
    clusters.dynamic_active_clusters.map((c: any) => c.cluster.name),
    ['a', 'b', 'c'],
  );
  assert.equal(clusters.dynamic_active_clusters[2].cluster.lb_policy, 'RING_HASH');
  assert.equal(clusters.dynamic_active_clusters[2].cluster['@type'], TypeUrl.Cluster);
  assert.equal((await fetch(`http://127.0.0.1:${monitoring.port}/debug/config_dump?proxyID=nobody`)).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${monitoring.port}/ready`)).status, 200);
});

test('ten rapid pushes coalesce into one response per changed type, in CDS, EDS, LDS, RDS order', async (t) => {
  const generator = sampleGenerator();
  // A long quiet period so a busy machine's late timers cannot split the burst.
  const server = await startServer(generator, 250);
  const stream = new RawAdsStream(server.port!, 'proxy-debounce');
  t.after(async () => {
    stream.close();
    await server.close();
  });
  const pushes: number[] = [];
  server.on('pushed', (info) => pushes.push(info.responses));
  // Subscribe in the "wrong" order; pushes still go out clusters first.
  stream.send({ type_url: TypeUrl.Listener, resource_names: [] });
  stream.answer(await stream.next());
  stream.send({ type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['a', 'b'] });
  stream.answer(await stream.next(), ['a', 'b']);
  stream.send({ type_url: TypeUrl.Cluster, resource_names: [] });
  stream.answer(await stream.next());
  // A named subscription to something that does not exist is answered with an empty response.
  stream.send({ type_url: TypeUrl.RouteConfiguration, resource_names: ['unused'] });
  const rds = await stream.next();
  assert.deepEqual(namesOf(rds), []);
  stream.answer(rds, ['unused']);

  for (let i = 0; i < 10; i++) {
    generator.set(TypeUrl.ClusterLoadAssignment, 'a', cla('a', 3000 + i));
    generator.set(TypeUrl.Cluster, 'a', cluster('a', { connect_timeout: `${i + 1}s` }));
    generator.set(TypeUrl.Listener, 'l1', tcpListener('l1', 2100 + i, 'a'));
    server.push({ reason: 'config' });
    await new Promise((r) => setTimeout(r, 5));
  }
  await waitFor(() => pushes.length > 0, 5000, 'the debounced push');
  const got = await stream.drain(300);
  // RDS did not change but follows the changed listeners (Envoy re-warms listeners and their routes).
  assert.deepEqual(
    got.map((r) => r.type_url),
    [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration],
  );
  assert.equal(new Set(got.map((r) => r.version_info)).size, 1, 'one push, one version');
  assert.deepEqual(decoded(got[1]).find((r) => r.cluster_name === 'a'), cla('a', 3009));
  assert.deepEqual(pushes, [4]);
  for (const r of got) {
    stream.answer(r, r.type_url === TypeUrl.ClusterLoadAssignment ? ['a', 'b'] : r.type_url === TypeUrl.RouteConfiguration ? ['unused'] : []);
  }

  // Nothing changed: a push sends nothing. An endpoint-only push sends only EDS.
  server.push({ reason: 'config' });
  server.flushPending();
  assert.deepEqual(await stream.drain(250), []);
  generator.set(TypeUrl.ClusterLoadAssignment, 'b', cla('b', 4000));
  generator.set(TypeUrl.Cluster, 'b', cluster('b', { connect_timeout: '9s' }));
  server.push({ reason: 'endpoint', types: [TypeUrl.ClusterLoadAssignment] });
  server.flushPending();
  const eds = await stream.drain(250);
  assert.deepEqual(eds.map((r) => r.type_url), [TypeUrl.ClusterLoadAssignment]);
  stream.answer(eds[0], ['a', 'b']);

  // A changed cluster brings its (unchanged) endpoints along: Envoy waits for them to finish warming it.
  server.push({ reason: 'config', types: [TypeUrl.Cluster] });
  server.flushPending();
  const withEndpoints = await stream.drain(250);
  assert.deepEqual(withEndpoints.map((r) => r.type_url), [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment]);
});

test('a push for some proxies reaches only them; a reconnecting proxy gets full state at once', async (t) => {
  const generator = sampleGenerator();
  const server = await startServer(generator, 10);
  const one = new RawAdsStream(server.port!, 'one');
  const two = new RawAdsStream(server.port!, 'two');
  t.after(async () => {
    one.close();
    two.close();
    await server.close();
  });
  for (const s of [one, two]) {
    s.send({ type_url: TypeUrl.Cluster, resource_names: [] });
    s.answer(await s.next());
  }
  generator.set(TypeUrl.Cluster, 'z', cluster('z'));
  server.push({ reason: 'config', proxies: (p) => p.id === 'two' });
  assert.deepEqual(namesOf(await two.next()), ['a', 'b', 'z']);
  assert.deepEqual(await one.drain(150), []);

  // "one" reconnects presenting its old version: it is served everything now, not at the next push.
  const previous = server.connectionFor('one')!.watches.get(TypeUrl.Cluster)!.ackedVersion!;
  one.close();
  await waitFor(() => !server.connections().some((c) => c.id === 'one'), 2000, 'disconnect');
  const again = new RawAdsStream(server.port!, 'one');
  t.after(() => again.close());
  again.send({ type_url: TypeUrl.Cluster, resource_names: [], version_info: previous, response_nonce: 'from-old-stream' });
  const full = await again.next();
  assert.deepEqual(namesOf(full), ['a', 'b', 'z']);
});

test('an answer to a superseded response (stale nonce) is ignored', async (t) => {
  const generator = sampleGenerator();
  const server = await startServer(generator, 10);
  const stream = new RawAdsStream(server.port!, 'stale');
  t.after(async () => {
    stream.close();
    await server.close();
  });
  stream.send({ type_url: TypeUrl.Cluster, resource_names: [] });
  const first = await stream.next();
  generator.set(TypeUrl.Cluster, 'c', cluster('c'));
  server.push({ reason: 'config' });
  const second = await stream.next();
  stream.answer(first, [], 'old problem');
  await new Promise((r) => setTimeout(r, 100));
  const watch = server.connectionFor('stale')!.watches.get(TypeUrl.Cluster)!;
  assert.equal(watch.lastNack, undefined);
  stream.answer(second);
  await waitFor(() => watch.ackedVersion === second.version_info, 2000, 'ACK of the current response');
});

test('a stream whose first request has no node id is refused', async (t) => {
  const server = await startServer(sampleGenerator());
  t.after(() => server.close());
  const stream = new RawAdsStream(server.port!, '');
  t.after(() => stream.close());
  stream.send({ type_url: TypeUrl.Cluster, resource_names: [] });
  await assert.rejects(stream.next(1000), /no DiscoveryResponse/);
  assert.equal(server.connections().length, 0);
});

test('serveXds starts ADS and monitoring together; /ready follows the extra readiness check', async (t) => {
  let loaded = false;
  const serving = await serveXds({
    generator: sampleGenerator(),
    host: '127.0.0.1',
    adsPort: 0,
    monitoringPort: 0,
    logger: silent,
    isReady: () => loaded,
  });
  t.after(() => serving.close());
  const ready = `http://127.0.0.1:${serving.monitoringPort}/ready`;
  assert.equal((await fetch(ready)).status, 503);
  loaded = true;
  assert.equal((await fetch(ready)).status, 200);
  const stream = new RawAdsStream(serving.adsPort, 'served');
  t.after(() => stream.close());
  stream.send({ type_url: TypeUrl.Cluster, resource_names: [] });
  assert.deepEqual(namesOf(await stream.next()), ['a', 'b']);
  assert.equal((await fetch(`http://127.0.0.1:${serving.monitoringPort}/debug/config_dump`)).status, 400);
  // istioctl-style "pod.namespace" finds an Istio node id.
  const sidecar = new RawAdsStream(serving.adsPort, 'sidecar~10.1.0.7~reviews-v1-abc.default~default.svc.cluster.local');
  t.after(() => sidecar.close());
  sidecar.send({ type_url: TypeUrl.Cluster, resource_names: [] });
  await sidecar.next();
  const dump = await fetch(`http://127.0.0.1:${serving.monitoringPort}/debug/config_dump?proxyID=reviews-v1-abc.default`);
  assert.equal(dump.status, 200);
  const body = (await dump.json()) as any;
  assert.equal(body.configs[0].bootstrap.node.id, 'sidecar~10.1.0.7~reviews-v1-abc.default~default.svc.cluster.local');
  assert.equal((await fetch(`http://127.0.0.1:${serving.monitoringPort}/nope`)).status, 404);
});

test('after the first response, an EDS push carries only the assignment that changed; CDS stays complete', async (t) => {
  const generator = sampleGenerator();
  const server = await startServer(generator, 20);
  const stream = new RawAdsStream(server.port!, 'sidecar~10.0.0.1~p.default~default.svc.cluster.local');
  t.after(async () => {
    stream.close();
    await server.close();
  });
  stream.send({ type_url: TypeUrl.Cluster, resource_names: [] });
  stream.answer(await stream.next());
  stream.send({ type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['a', 'b'] });
  const eds = await stream.next();
  assert.deepEqual(namesOf(eds), ['a', 'b']);
  stream.answer(eds, ['a', 'b']);
  generator.set(TypeUrl.ClusterLoadAssignment, 'b', cla('b', 1003));
  server.push({ reason: 'endpoint', types: [TypeUrl.ClusterLoadAssignment] });
  const update = await stream.next();
  assert.deepEqual(namesOf(update), ['b'], 'only the changed assignment');
  assert.deepEqual(decoded(update)[0], cla('b', 1003));
  stream.answer(update, ['a', 'b']);
  generator.set(TypeUrl.Cluster, 'b', cluster('b', { connect_timeout: '2s' }));
  server.push({ reason: 'config', types: [TypeUrl.Cluster] });
  const cds = await stream.next();
  assert.equal(cds.type_url, TypeUrl.Cluster);
  assert.deepEqual(namesOf(cds), ['a', 'b'], 'CDS is always the whole set');
});
