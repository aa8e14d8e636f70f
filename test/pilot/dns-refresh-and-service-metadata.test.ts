/**
 * ServiceEntry DNS clusters re-resolve at the mesh config's dnsRefreshRate, and every outbound cluster
 * carries Istio's `istio.services` metadata (host, name, namespace) that telemetry reads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMeshConfig } from '../../src/config/mesh-config.js';
import type { MeshSettings } from '../../src/pilot/context.js';
import type { JsonObject } from '../../src/proxy/config/fields.js';
import { TypeUrl } from '../../src/xds/protos.js';
import { bookinfoServices, snapshot } from './bookinfo-fixture.js';
import { generate, sidecarProxy } from './generate.js';
import { FakeServices } from './fake-services.js';

function clustersWith(mesh: Partial<MeshSettings>): Map<string, JsonObject> {
  const base = bookinfoServices();
  const ext = {
    hostname: 'ext.example.test',
    namespace: 'egress-team',
    addresses: [],
    ports: [{ port: 80, name: 'http', protocol: 'HTTP' }],
    resolution: 'DNS',
    meshExternal: true,
    exportTo: new Set(['*']),
    serviceAccounts: [],
    source: 'serviceentry',
  } as unknown as (typeof base.list)[number];
  const services = new FakeServices([...base.list, ext], base.pods, base.selectors);
  const snap = snapshot('', mesh, services);
  return generate(snap, sidecarProxy('10.88.0.10', 'productpage-v1-abc', 'default', { app: 'productpage' }), TypeUrl.Cluster);
}

describe('outbound clusters: DNS refresh rate and Istio service metadata', () => {
  it('a DNS ServiceEntry cluster refreshes at the mesh dnsRefreshRate (default 60s)', () => {
    assert.equal(clustersWith({}).get('outbound|80||ext.example.test')?.dns_refresh_rate, '60s');
    assert.equal(clustersWith({ dnsRefreshRate: '5s' }).get('outbound|80||ext.example.test')?.dns_refresh_rate, '5s');
    assert.equal(clustersWith({ dnsRefreshRate: '1m30s' }).get('outbound|80||ext.example.test')?.dns_refresh_rate, '90s');
    assert.equal(clustersWith({ dnsRefreshRate: '500ms' }).get('outbound|80||ext.example.test')?.dns_refresh_rate, '0.500s');
  });

  it('the mesh config parses dnsRefreshRate and refuses a non-duration', () => {
    assert.equal(parseMeshConfig('').config.dnsRefreshRate, '60s');
    assert.equal(parseMeshConfig('dnsRefreshRate: 10s').config.dnsRefreshRate, '10s');
    const bad = parseMeshConfig('dnsRefreshRate: often');
    assert.equal(bad.config.dnsRefreshRate, '60s');
    assert.match(bad.messages.map((m) => m.message).join('\n'), /dnsRefreshRate "often" is not a duration/);
  });

  it('clusters name their service as Istio does: the ServiceEntry namespace and host, the Kubernetes short name', () => {
    const c = clustersWith({});
    const svc = (name: string) => ((c.get(name)?.metadata as JsonObject).filter_metadata as JsonObject).istio as JsonObject;
    assert.deepEqual(svc('outbound|80||ext.example.test').services, [{ host: 'ext.example.test', name: 'ext.example.test', namespace: 'egress-team' }]);
    assert.deepEqual(svc('outbound|9080||reviews.default.svc.cluster.local').services, [{ host: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default' }]);
  });
});
