import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject } from '../../src/proxy/config/fields.js';
import type { ConnectedProxy } from '../../src/xds/generator.js';
import { TypeUrl, type XdsTypeUrl } from '../../src/xds/protos.js';
import { PODS, bookinfoServices, snapshot } from './bookinfo-fixture.js';
import { generate, sidecarProxy } from './generate.js';
import { FakeServices } from './fake-services.js';

const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';

/** Bookinfo with reviews v1 in us-west/zone1, v2 in us-west/zone2, v3 in us-east/zone1. */
function services(): FakeServices {
  const base = bookinfoServices();
  const where: Record<string, { region: string; zone: string; subZone: string }> = {
    'reviews-v1-abc': { region: 'us-west', zone: 'zone1', subZone: '' },
    'reviews-v2-abc': { region: 'us-west', zone: 'zone2', subZone: '' },
    'reviews-v3-abc': { region: 'us-east', zone: 'zone1', subZone: '' },
  };
  return new FakeServices(base.list, PODS.map((p) => (where[p.name] ? { ...p, locality: where[p.name] } : p)), base.selectors);
}

function productpage(labels: Record<string, string>): ConnectedProxy {
  return sidecarProxy('10.88.0.10', 'productpage-v1-abc', 'default', { app: 'productpage', version: 'v1', ...labels });
}

function one(yamlText: string, p: ConnectedProxy, type: XdsTypeUrl, name: string): JsonObject {
  const r = generate(snapshot(yamlText, {}, services()), p, type, [name]).get(name);
  assert.ok(r, `${name} generated`);
  return r;
}

const DISTRIBUTE = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      localityLbSetting:
        enabled: true
        distribute:
        - from: us-west/zone1/*
          to: {"us-west/zone1/*": 80, "us-west/zone2/*": 20}
`;

const IN_ZONE1 = { 'topology.kubernetes.io/region': 'us-west', 'topology.kubernetes.io/zone': 'zone1' };

describe('pilot: localityLbSetting.distribute', () => {
  it('weights the localities in the load assignment and turns on locality-weighted balancing in the cluster', () => {
    const cluster = one(DISTRIBUTE, productpage(IN_ZONE1), TypeUrl.Cluster, REVIEWS);
    assert.deepEqual((cluster.common_lb_config as JsonObject | undefined)?.locality_weighted_lb_config, {});
    const cla = one(DISTRIBUTE, productpage(IN_ZONE1), TypeUrl.ClusterLoadAssignment, REVIEWS);
    const weights = (cla.endpoints as JsonObject[]).map((e) => `${(e.locality as JsonObject).zone}=${e.load_balancing_weight}`).sort();
    // us-east gets no share, so it is left out.
    assert.deepEqual(weights, ['zone1=80', 'zone2=20']);
  });

  it('leaves the cluster alone when no distribute entry applies to the proxy, or without a DestinationRule', () => {
    const elsewhere = one(DISTRIBUTE, productpage({ 'topology.kubernetes.io/region': 'us-east', 'topology.kubernetes.io/zone': 'zone1' }), TypeUrl.Cluster, REVIEWS);
    assert.equal((elsewhere.common_lb_config as JsonObject | undefined)?.locality_weighted_lb_config, undefined);
    const noLocality = one(DISTRIBUTE, productpage({}), TypeUrl.Cluster, REVIEWS);
    assert.equal((noLocality.common_lb_config as JsonObject | undefined)?.locality_weighted_lb_config, undefined);
    const noDr = one('', productpage(IN_ZONE1), TypeUrl.Cluster, REVIEWS);
    assert.equal((noDr.common_lb_config as JsonObject | undefined)?.locality_weighted_lb_config, undefined);
  });
});
