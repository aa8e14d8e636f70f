import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject } from '../../src/proxy/config/fields.js';
import { PilotGenerator, type PilotSnapshot } from '../../src/pilot/generator.js';
import { TypeUrl, type XdsTypeUrl } from '../../src/xds/protos.js';
import { encodeResource } from '../../src/xds/resource-encoder.js';
import { buildOutboundRouteConfig } from '../../src/pilot/routes/route-configs.js';
import { snapshot } from './bookinfo-fixture.js';
import { generate, sidecarProxy } from './generate.js';

const productpage = () => sidecarProxy('10.88.0.10', 'productpage-v1-abc', 'default', { app: 'productpage', version: 'v1' });
const details = () => sidecarProxy('10.88.0.11', 'details-v1-abc', 'default', { app: 'details', version: 'v1' });
const reviews2 = () => sidecarProxy('10.88.0.13', 'reviews-v2-abc', 'default', { app: 'reviews', version: 'v2' });
const legacy = () => sidecarProxy('10.88.0.20', 'legacy-abc', 'legacy', { app: 'legacy' });

const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';
const DR = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;
const SIDECAR_LEGACY = `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: legacy}
spec:
  egress: [{hosts: ["./*"]}]
`;
const VS_BY_SOURCE = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{sourceLabels: {app: productpage}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`;

describe('pilot: push cache (what sidecars of one scope share)', () => {
  it('two sidecars of one namespace get the very same outbound objects, encoded once; inbound stays their own', () => {
    const snap = snapshot(DR);
    const g = new PilotGenerator(() => snap);
    const a = generate(g, productpage(), TypeUrl.Cluster);
    const b = generate(g, details(), TypeUrl.Cluster);
    assert.ok(a.get(REVIEWS));
    assert.equal(a.get(REVIEWS), b.get(REVIEWS), 'one shared cluster object');
    assert.equal(encodeResource(TypeUrl.Cluster, a.get(REVIEWS)!), encodeResource(TypeUrl.Cluster, b.get(REVIEWS)!), 'one shared encoding');
    const la = generate(g, productpage(), TypeUrl.Listener);
    const lb = generate(g, details(), TypeUrl.Listener);
    assert.equal(la.get('0.0.0.0_9080'), lb.get('0.0.0.0_9080'));
    assert.notDeepEqual(la.get('virtualInbound'), lb.get('virtualInbound'), 'each pod has its own inbound listener');
    const ra = generate(g, productpage(), TypeUrl.RouteConfiguration, ['9080']);
    assert.equal(ra.get('9080'), generate(g, details(), TypeUrl.RouteConfiguration, ['9080']).get('9080'));
    const ea = generate(g, productpage(), TypeUrl.ClusterLoadAssignment, [REVIEWS]);
    assert.equal(ea.get(REVIEWS), generate(g, details(), TypeUrl.ClusterLoadAssignment, [REVIEWS]).get(REVIEWS));
    assert.ok(g.cache.stats.hits > 0);
  });

  it('shared output is exactly what an uncached generator builds for each proxy', () => {
    const snap = snapshot(DR + '---' + SIDECAR_LEGACY + '---' + VS_BY_SOURCE);
    const shared = new PilotGenerator(() => snap);
    for (const p of [productpage, details, reviews2, legacy]) {
      for (const [type, names] of [
        [TypeUrl.Cluster, []],
        [TypeUrl.Listener, []],
        [TypeUrl.RouteConfiguration, ['9080']],
        [TypeUrl.ClusterLoadAssignment, [REVIEWS, 'outbound|9080|v2|reviews.default.svc.cluster.local']],
      ] as Array<[XdsTypeUrl, string[]]>) {
        const fresh = new PilotGenerator(() => snap);
        assert.deepEqual(generate(shared, p(), type, names), generate(fresh, p(), type, names), `${p().id} ${type}`);
      }
    }
  });

  it('route tables assembled from the mesh-wide one equal the direct build in every namespace', () => {
    const VS_LEGACY = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: legacy-from-default, namespace: default}
spec:
  hosts: [legacy.legacy.svc.cluster.local, extra.example.com]
  http:
  - route: [{destination: {host: legacy.legacy.svc.cluster.local}}]
`;
    const snap = snapshot(DR + '---' + VS_LEGACY);
    const g = new PilotGenerator(() => snap);
    const tables = new Map<string, JsonObject>();
    for (const p of [productpage, legacy]) {
      const table = generate(g, p(), TypeUrl.RouteConfiguration, ['9080']).get('9080')!;
      assert.deepEqual(table, buildOutboundRouteConfig(9080, new PilotGenerator(() => snap).context(p())), p().id);
      tables.set(p().id, table);
    }
    const [a, b] = [...tables.values()].map((t) => t.virtual_hosts as JsonObject[]);
    const ratings = (hosts: JsonObject[]) => hosts.find((h) => h.name === 'ratings.default.svc.cluster.local:9080');
    assert.notEqual(ratings(a), ratings(b), 'default sees ratings by its short name too');
    const extra = (hosts: JsonObject[]) => hosts.find((h) => h.name === 'extra.example.com:9080');
    assert.ok(extra(a));
    assert.equal(extra(a), extra(b), 'a host that is the same everywhere is one object');
  });

  it('a proxy under another Sidecar scope gets its own clusters; without any Sidecar, namespaces share them', () => {
    const free = snapshot(DR);
    const g1 = new PilotGenerator(() => free);
    assert.equal(generate(g1, productpage(), TypeUrl.Cluster).get(REVIEWS), generate(g1, legacy(), TypeUrl.Cluster).get(REVIEWS), 'no Sidecar: one scope for the mesh');

    const scoped = snapshot(DR + '---' + SIDECAR_LEGACY);
    const g2 = new PilotGenerator(() => scoped);
    const inDefault = generate(g2, productpage(), TypeUrl.Cluster);
    const inLegacy = generate(g2, legacy(), TypeUrl.Cluster);
    assert.ok(inDefault.has(REVIEWS));
    assert.ok(!inLegacy.has(REVIEWS), 'the Sidecar limits legacy to its own namespace');
    assert.ok(inLegacy.has('outbound|9080||legacy.legacy.svc.cluster.local'));
    // Route tables are per namespace in any case (short names resolve only in their own namespace).
    assert.notEqual(generate(g1, productpage(), TypeUrl.RouteConfiguration, ['9080']).get('9080'), generate(g1, legacy(), TypeUrl.RouteConfiguration, ['9080']).get('9080'));
  });

  it('a rule matching sourceLabels splits the route tables of one namespace by labels', () => {
    const snap = snapshot(DR + '---' + VS_BY_SOURCE);
    const g = new PilotGenerator(() => snap);
    const fromProductpage = generate(g, productpage(), TypeUrl.RouteConfiguration, ['9080']).get('9080');
    const fromDetails = generate(g, details(), TypeUrl.RouteConfiguration, ['9080']).get('9080');
    assert.notDeepEqual(fromProductpage, fromDetails);
    assert.match(JSON.stringify(fromProductpage), /outbound\|9080\|v2\|reviews/);
    assert.doesNotMatch(JSON.stringify(fromDetails), /outbound\|9080\|v2\|reviews/);
  });

  it('across pushes, an unchanged resource keeps its object; a changed one is new; endpoints are rebuilt only for changed services', () => {
    let snap: PilotSnapshot = snapshot(DR);
    const g = new PilotGenerator(() => snap);
    const before = generate(g, productpage(), TypeUrl.Cluster);
    const eds = generate(g, productpage(), TypeUrl.ClusterLoadAssignment, [REVIEWS]).get(REVIEWS);
    snap = snapshot(DR.replace('{name: v2, labels: {version: v2}}', '{name: v2, labels: {version: v2}, trafficPolicy: {loadBalancer: {simple: RANDOM}}}'));
    const after = generate(g, productpage(), TypeUrl.Cluster);
    assert.equal(after.get(REVIEWS), before.get(REVIEWS), 'unchanged cluster: same object, so encoded and sent once');
    assert.notEqual(after.get('outbound|9080|v2|reviews.default.svc.cluster.local'), before.get('outbound|9080|v2|reviews.default.svc.cluster.local'));
    // Same config, an endpoint change elsewhere keeps the assignment; one of reviews' rebuilds it.
    const eds2 = generate(g, productpage(), TypeUrl.ClusterLoadAssignment, [REVIEWS]).get(REVIEWS);
    assert.deepEqual(eds2, eds);
    g.endpointsChanged(new Set(['ratings.default.svc.cluster.local']));
    const misses = g.cache.stats.misses;
    assert.equal(generate(g, productpage(), TypeUrl.ClusterLoadAssignment, [REVIEWS]).get(REVIEWS), eds2);
    assert.equal(g.cache.stats.misses, misses);
    g.endpointsChanged(new Set(['reviews.default.svc.cluster.local']));
    generate(g, productpage(), TypeUrl.ClusterLoadAssignment, [REVIEWS]);
    assert.equal(g.cache.stats.misses, misses + 1);
  });

  it('a new config of kinds endpoints never depend on keeps the endpoint assignments; any other kind rebuilds them', () => {
    let snap: PilotSnapshot = snapshot(DR);
    const g = new PilotGenerator(() => snap);
    const first = generate(g, productpage(), TypeUrl.ClusterLoadAssignment, [REVIEWS]).get(REVIEWS);
    // Equal objects are interned across pushes, so the cache's misses, not object identity, show a rebuild;
    // a new push context also misses on the proxy's other scoped parts, the same count each time.
    // Each step is a new push context (a new config object) with the same content.
    const missesAfter = (kinds: string[] | undefined): number => {
      if (kinds) g.configChanged(kinds);
      snap = snapshot(DR);
      const misses = g.cache.stats.misses;
      assert.deepEqual(generate(g, productpage(), TypeUrl.ClusterLoadAssignment, [REVIEWS]).get(REVIEWS), first);
      return g.cache.stats.misses - misses;
    };
    const kept = missesAfter(['VirtualService', 'AuthorizationPolicy']);
    assert.equal(missesAfter(['VirtualService', 'DestinationRule']), kept + 1, 'a DestinationRule among the kinds: built again');
    assert.equal(missesAfter(['Sidecar']), kept, 'routing-only change: the assignment is kept');
    assert.equal(missesAfter(undefined), kept + 1, 'a config not announced by configChanged starts over');
  });
});
