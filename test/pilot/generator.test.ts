import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject } from '../../src/proxy/config/fields.js';
import { routerNodeId, sidecarNodeId } from '../../src/pilot/proxy-info.js';
import { TypeUrl } from '../../src/xds/protos.js';
import { snapshot } from './bookinfo-fixture.js';
import { connectedProxy, generate } from './generate.js';

const productpage = () => connectedProxy(sidecarNodeId('10.88.0.10', 'productpage-v1-abc', 'default'), { LABELS: { app: 'productpage', version: 'v1' } });
const gateway = () => connectedProxy(routerNodeId('10.88.0.30', 'istio-ingressgateway-abc', 'istio-system'), { LABELS: { istio: 'ingressgateway' } });

const DR_ALL = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
`;
const VS_TEST_V2 = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`;

describe('pilot: sidecar config for bookinfo', () => {
  it('clusters: one per service port and subset, passthrough and black hole, inbound for the pod', () => {
    const clusters = generate(snapshot(DR_ALL), productpage(), TypeUrl.Cluster);
    for (const name of [
      'outbound|9080||reviews.default.svc.cluster.local',
      'outbound|9080|v1|reviews.default.svc.cluster.local',
      'outbound|9080|v3|reviews.default.svc.cluster.local',
      'outbound|9080||details.default.svc.cluster.local',
      'PassthroughCluster',
      'BlackHoleCluster',
      'inbound|9080||',
      'InboundPassthroughCluster',
    ]) assert.ok(clusters.has(name), `missing ${name}; have ${[...clusters.keys()].join(', ')}`);
    const reviews = clusters.get('outbound|9080|v2|reviews.default.svc.cluster.local')!;
    assert.equal(reviews.type, 'EDS');
    assert.equal(reviews.lb_policy, 'LEAST_REQUEST');
    assert.equal((reviews.transport_socket_matches as JsonObject[]).length, 2, 'auto mTLS');
  });

  it('endpoints: a subset gets only its pods, with the tlsMode auto mTLS matches on', () => {
    const eds = generate(snapshot(DR_ALL), productpage(), TypeUrl.ClusterLoadAssignment, ['outbound|9080|v2|reviews.default.svc.cluster.local', 'outbound|9080||reviews.default.svc.cluster.local']);
    const v2 = eds.get('outbound|9080|v2|reviews.default.svc.cluster.local') as { endpoints: Array<{ lb_endpoints: JsonObject[] }> };
    const addrs = v2.endpoints.flatMap((e) => e.lb_endpoints.map((l) => ((l.endpoint as JsonObject).address as { socket_address: { address: string } }).socket_address.address));
    assert.deepEqual(addrs, ['10.88.0.13']);
    const all = eds.get('outbound|9080||reviews.default.svc.cluster.local') as { endpoints: Array<{ lb_endpoints: JsonObject[] }> };
    assert.equal(all.endpoints.flatMap((e) => e.lb_endpoints).length, 3);
    const md = (all.endpoints[0].lb_endpoints[0].metadata as { filter_metadata: Record<string, JsonObject> }).filter_metadata;
    assert.deepEqual(md['envoy.transport_socket_match'], { tlsMode: 'istio' });
  });

  it('listeners: virtualOutbound hands off to 0.0.0.0_9080 (RDS "9080"); virtualInbound accepts mTLS and plaintext (PERMISSIVE)', () => {
    const lds = generate(snapshot(''), productpage(), TypeUrl.Listener);
    assert.ok(lds.has('virtualOutbound'));
    assert.equal(lds.get('virtualOutbound')!.use_original_dst, true);
    const http = lds.get('0.0.0.0_9080')!;
    assert.equal(http.bind_to_port, false);
    const inbound = lds.get('virtualInbound')!;
    const chains = (inbound.filter_chains as Array<{ filter_chain_match: JsonObject }>).filter((c) => c.filter_chain_match.destination_port === 9080);
    assert.deepEqual(chains.map((c) => c.filter_chain_match.transport_protocol).sort(), ['raw_buffer', 'tls', 'tls']);
    assert.ok(inbound.default_filter_chain, 'PERMISSIVE passes undeclared ports through');
  });

  it('STRICT PeerAuthentication: the inbound side accepts only mTLS', () => {
    const lds = generate(snapshot(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
`), productpage(), TypeUrl.Listener);
    const inbound = lds.get('virtualInbound')!;
    const protocols = (inbound.filter_chains as Array<{ filter_chain_match: JsonObject }>).map((c) => c.filter_chain_match.transport_protocol);
    assert.ok(!protocols.includes('raw_buffer'));
    assert.equal(inbound.default_filter_chain, undefined);
  });

  it('routes: reviews-test-v2 on port 9080 with every name of the service, then allow_any', () => {
    const rds = generate(snapshot(DR_ALL + '---' + VS_TEST_V2), productpage(), TypeUrl.RouteConfiguration, ['9080']);
    const rc = rds.get('9080') as { virtual_hosts: Array<{ name: string; domains: string[]; routes: JsonObject[] }> };
    const reviews = rc.virtual_hosts.find((v) => v.name === 'reviews.default.svc.cluster.local:9080')!;
    for (const d of ['reviews', 'reviews:9080', 'reviews.default', 'reviews.default.svc.cluster.local', '10.96.0.12', '10.96.0.12:9080']) assert.ok(reviews.domains.includes(d), d);
    assert.equal(((reviews.routes[0].route as JsonObject).cluster), 'outbound|9080|v2|reviews.default.svc.cluster.local');
    assert.equal(((reviews.routes[1].route as JsonObject).cluster), 'outbound|9080|v1|reviews.default.svc.cluster.local');
    const details = rc.virtual_hosts.find((v) => v.name === 'details.default.svc.cluster.local:9080')!;
    assert.equal(((details.routes[0].route as JsonObject).cluster), 'outbound|9080||details.default.svc.cluster.local');
    assert.equal(rc.virtual_hosts.at(-1)!.name, 'allow_any');
    const legacy = rc.virtual_hosts.find((v) => v.name === 'legacy.legacy.svc.cluster.local:9080')!;
    assert.ok(!legacy.domains.includes('legacy'), 'other namespaces do not get the bare short name');
  });

  it('REGISTRY_ONLY: unknown HTTP gets 502 from block_all, unknown TCP the black hole', () => {
    const snap = snapshot('', { outboundTrafficPolicy: 'REGISTRY_ONLY' });
    const rc = generate(snap, productpage(), TypeUrl.RouteConfiguration, ['9080']).get('9080') as { virtual_hosts: Array<{ name: string; routes: JsonObject[] }> };
    assert.deepEqual(rc.virtual_hosts.at(-1)!.routes[0].direct_response, { status: 502 });
    const vo = generate(snap, productpage(), TypeUrl.Listener).get('virtualOutbound')!;
    assert.match(JSON.stringify(vo.default_filter_chain), /BlackHoleCluster/);
  });
});

describe('pilot: ingress gateway', () => {
  const GATEWAY = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo, namespace: default}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match: [{uri: {exact: /productpage}}, {uri: {prefix: /static}}]
    route: [{destination: {host: productpage, port: {number: 9080}}}]
`;

  it('listens on the server port and routes the bound VirtualService; sidecars do not get it', () => {
    const snap = snapshot(GATEWAY);
    const lds = generate(snap, gateway(), TypeUrl.Listener);
    const l = lds.get('0.0.0.0_8080')!;
    assert.ok(l, `listeners: ${[...lds.keys()].join(', ')}`);
    assert.notEqual(l.bind_to_port, false);
    const rc = generate(snap, gateway(), TypeUrl.RouteConfiguration, ['http.8080']).get('http.8080') as { virtual_hosts: Array<{ domains: string[]; routes: JsonObject[] }> };
    assert.deepEqual(rc.virtual_hosts[0].domains, ['*']);
    assert.deepEqual(rc.virtual_hosts[0].routes.map((r) => r.match), [{ path: '/productpage' }, { prefix: '/static' }]);
    assert.equal((rc.virtual_hosts[0].routes[0].route as JsonObject).cluster, 'outbound|9080||productpage.default.svc.cluster.local');
    const sidecarRoutes = generate(snap, productpage(), TypeUrl.RouteConfiguration, ['9080']).get('9080') as { virtual_hosts: Array<{ name: string }> };
    assert.ok(!sidecarRoutes.virtual_hosts.some((v) => v.name.startsWith('*')), 'gateway-bound VS must not reach sidecars');
  });

  it('HTTPS with a missing credential keeps that server down and the others up', () => {
    const snap = snapshot(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: missing-credential}
    hosts: [httpbin.example.com]
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [httpbin.example.com]
`);
    const lds = generate(snap, gateway(), TypeUrl.Listener);
    assert.ok(lds.has('0.0.0.0_80'));
    assert.ok(!lds.has('0.0.0.0_443'));
  });
});

describe('pilot: proxyless gRPC', () => {
  it('serves an API listener, a route table and ROUND_ROBIN clusters for xds:///reviews:9080', () => {
    const snap = snapshot(DR_ALL + '---' + VS_TEST_V2);
    const p = connectedProxy('proxyless~10.88.0.50~client.default~default.svc.cluster.local', { NAMESPACE: 'default', GENERATOR: 'grpc' });
    const lds = generate(snap, p, TypeUrl.Listener, ['reviews:9080']);
    assert.ok(lds.get('reviews:9080')!.api_listener);
    const rc = generate(snap, p, TypeUrl.RouteConfiguration, ['reviews:9080']).get('reviews:9080') as { virtual_hosts: Array<{ routes: JsonObject[] }> };
    assert.equal((rc.virtual_hosts[0].routes[0].route as JsonObject).cluster, 'outbound|9080|v2|reviews.default.svc.cluster.local');
    const cds = generate(snap, p, TypeUrl.Cluster);
    assert.equal(cds.get('outbound|9080|v1|reviews.default.svc.cluster.local')!.lb_policy, 'ROUND_ROBIN');
  });
});
