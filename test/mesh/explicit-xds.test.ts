import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject } from '../../src/proxy/config/fields.js';
import { PilotGenerator, type PilotSnapshot } from '../../src/pilot/generator.js';
import { EXPLICIT_ROUTE_CONFIG } from '../../src/pilot/listeners/explicit.js';
import { routerNodeId, sidecarNodeId } from '../../src/pilot/proxy-info.js';
import { fromEnvoyJson } from '../../src/xds/envoy-json.js';
import type { ConnectedProxy } from '../../src/xds/generator.js';
import { TypeUrl, type XdsTypeUrl } from '../../src/xds/protos.js';
import { snapshot } from '../pilot/bookinfo-fixture.js';

// Explicit mode (node metadata INTERCEPTION_MODE=NONE): real listeners on the pod address, one merged route table.
function proxy(id: string, metadata: Record<string, unknown>): ConnectedProxy {
  return { id, connectionId: '1', node: { id }, metadata: metadata as JsonObject, connectedAt: new Date(), subscribedNames: () => [], scratch: new Map() };
}
const EXPLICIT = { INTERCEPTION_MODE: 'NONE', APP_PORTS: { '9080': '23456' } };
const reviews = () => proxy(sidecarNodeId('10.88.0.12', 'reviews-v1-abc', 'default'), { ...EXPLICIT, LABELS: { app: 'reviews', version: 'v1' } });
const gateway = () => proxy(routerNodeId('10.88.0.30', 'istio-ingressgateway-abc', 'istio-system'), { INTERCEPTION_MODE: 'NONE', LABELS: { istio: 'ingressgateway' } });

function gen(snap: PilotSnapshot, p: ConnectedProxy, type: XdsTypeUrl, names: string[] = []): Map<string, JsonObject> {
  const out = new Map<string, JsonObject>();
  for (const r of new PilotGenerator(() => snap).generate(p, type, names) as Array<{ name: string; resource: JsonObject }>) {
    assert.doesNotThrow(() => fromEnvoyJson(type, r.resource), `${r.name} is not valid ${type}`);
    out.set(r.name, r.resource);
  }
  return out;
}

const VS = `
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

describe('pilot: explicit-mode proxies (INTERCEPTION_MODE=NONE)', () => {
  it('sidecar: a forward proxy and per-port inbound listeners on the pod address, no capture listeners', () => {
    const ls = gen(snapshot(""), reviews(), TypeUrl.Listener);
    assert.deepEqual([...ls.keys()].sort(), ['10.88.0.12_9080', 'explicit_http_proxy']);
    const fwd = ls.get('explicit_http_proxy')!;
    assert.deepEqual(fwd.address, { socket_address: { address: '10.88.0.12', port_value: 15001 } });
    assert.match(JSON.stringify(fwd), new RegExp(`"route_config_name":"${EXPLICIT_ROUTE_CONFIG}"`));
    const inbound = ls.get('10.88.0.12_9080')!;
    assert.deepEqual(inbound.address, { socket_address: { address: '10.88.0.12', port_value: 9080 } });
    assert.ok(!JSON.stringify(inbound).includes('original_dst'));
    assert.ok(JSON.stringify(inbound).includes('DownstreamTlsContext'), 'mTLS still terminated inbound');
  });

  it('inbound cluster goes to the app port from APP_PORTS', () => {
    const cl = gen(snapshot(""), reviews(), TypeUrl.Cluster).get('inbound|9080||')!;
    assert.match(JSON.stringify(cl.load_assignment), /"port_value":23456/);
  });

  it('one route table: hosts with their port, VirtualService routes kept, unknown hosts 502', () => {
    const rc = gen(snapshot(VS), reviews(), TypeUrl.RouteConfiguration, [EXPLICIT_ROUTE_CONFIG]).get(EXPLICIT_ROUTE_CONFIG)!;
    const vhosts = rc.virtual_hosts as JsonObject[];
    const rv = vhosts.find((v) => (v.domains as string[]).includes('reviews:9080'))!;
    assert.ok(rv, 'reviews:9080 routed');
    assert.ok(!(rv.domains as string[]).includes('reviews'), 'a bare name would mean port 80');
    assert.match(JSON.stringify(rv.routes), /outbound\|9080\|v2\|reviews/);
    const last = vhosts[vhosts.length - 1];
    assert.deepEqual(last.domains, ['*']);
    assert.equal(((last.routes as JsonObject[])[0].direct_response as JsonObject).status, 502);
  });

  it('gateway listeners bind to the pod address instead of 0.0.0.0', () => {
    const ls = gen(snapshot(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ['*']}]
`), gateway(), TypeUrl.Listener);
    const l = [...ls.values()][0];
    assert.deepEqual(l.address, { socket_address: { address: '10.88.0.30', port_value: 8080 } });
  });
});
