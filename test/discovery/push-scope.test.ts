import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigEvent } from '../../src/config/events.js';
import type { Resource } from '../../src/config/resource.js';
import { affectedNamespaces } from '../../src/discovery/push-scope.js';
import { IstioConfig } from '../../src/pilot/istio-config.js';

const vs = (name: string, ns: string, spec: Record<string, unknown>): Resource => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name, namespace: ns }, spec: { hosts: ['reviews'], ...spec } });
const upsert = (resource: Resource): ConfigEvent => ({ type: 'upsert', resource: { resource, source: {} } });
const config = (...rs: Resource[]) => new IstioConfig(rs.map((resource) => ({ resource, source: {} })));

describe('discovery: which proxies a routing change reaches', () => {
  it('a VirtualService exported to its own namespace reaches that namespace only, before and after the change', () => {
    const before = config(vs('r', 'team-a', { exportTo: ['.'] }));
    assert.deepEqual(affectedNamespaces([upsert(vs('r', 'team-a', { exportTo: ['.', 'team-b'] }))], before, 'istio-system'), new Set(['team-a', 'team-b']));
    assert.deepEqual(affectedNamespaces([upsert(vs('r', 'team-a', { exportTo: ['.'] }))], before, 'istio-system'), new Set(['team-a']));
  });

  it('exported everywhere (or before the change it was), bound to a gateway, or anything unknown: every proxy', () => {
    const wasEverywhere = config(vs('r', 'team-a', {}));
    assert.equal(affectedNamespaces([upsert(vs('r', 'team-a', { exportTo: ['.'] }))], wasEverywhere, 'istio-system'), undefined);
    assert.equal(affectedNamespaces([upsert(vs('r', 'team-a', { exportTo: ['.'], gateways: ['ingress'] }))], config(), 'istio-system'), undefined);
    assert.equal(affectedNamespaces([upsert(vs('r', 'team-a', { exportTo: ['.'] }))], undefined, 'istio-system'), undefined);
  });

  it('policies reach their namespace, or everyone from the root namespace', () => {
    const policy = (ns: string): Resource => ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'p', namespace: ns }, spec: {} });
    assert.deepEqual(affectedNamespaces([upsert(policy('team-a'))], config(), 'istio-system'), new Set(['team-a']));
    assert.equal(affectedNamespaces([upsert(policy('istio-system'))], config(), 'istio-system'), undefined);
  });
});
