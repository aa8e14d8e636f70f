import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { loadPaths } from '../../src/config/loader.js';
import { registryFromConfig } from '../../src/registry/from-config.js';

const root = new URL('../../../', import.meta.url).pathname;
const sample = (p: string) => join(root, 'samples', p);

describe('registry: the shipped samples', () => {
  it('builds bookinfo from its Deployments: four services, versions, identities', async () => {
    const { resources } = await loadPaths([sample('bookinfo/platform/bookinfo.yaml')]);
    const r = registryFromConfig(resources);
    assert.deepEqual(
      r.services().map((s) => s.hostname),
      ['details', 'productpage', 'ratings', 'reviews'].map((n) => `${n}.default.svc.cluster.local`),
    );
    const reviews = r.endpoints('reviews.default.svc.cluster.local', 9080);
    assert.deepEqual(reviews.map((e) => e.labels.version).sort(), ['v1', 'v2', 'v3']);
    assert.ok(reviews.every((e) => e.serviceAccount === 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews' && e.port === 9080 && e.tlsMode === 'istio'));
    assert.equal(r.endpoints('reviews.default.svc.cluster.local', 9080, { version: 'v3' }).length, 1);
    assert.equal(r.service('reviews.default.svc.cluster.local')!.ports[0]!.protocol, 'HTTP');
    assert.equal(r.resolveHost('reviews', 'default').services.length, 1);
  });

  it('gives the peers StatefulSet pods their names under the headless service', async () => {
    const { resources } = await loadPaths([sample('peers/peers.yaml')]);
    const r = registryFromConfig(resources);
    const svc = r.services().find((s) => s.name === 'peers')!;
    assert.equal(svc.headless, true);
    const names = svc.ports.flatMap((p) => r.endpoints(svc.hostname, p.port)).map((e) => e.hostname);
    assert.deepEqual([...new Set(names)].sort(), [0, 1, 2].map((i) => `peers-${i}.peers.${svc.namespace}.svc.cluster.local`));
  });

  it('reads helloworld localities from the pod template labels', async () => {
    const { resources } = await loadPaths([sample('helloworld/helloworld-localities.yaml')]);
    const r = registryFromConfig(resources);
    const svc = r.services().find((s) => s.name === 'helloworld')!;
    const zones = r.endpoints(svc.hostname, svc.ports[0]!.port).map((e) => `${e.locality.region}/${e.locality.zone}`);
    assert.deepEqual([...new Set(zones)].sort(), ['region1/zone1', 'region1/zone2', 'region2/zone3', 'region3/zone4']);
  });

  it('models the egress ServiceEntry for httpbin.org as an external DNS service', async () => {
    const { resources } = await loadPaths([sample('tasks/egress/httpbin-ext.yaml')]);
    const r = registryFromConfig(resources);
    const s = r.service('httpbin.org')!;
    assert.equal(s.meshExternal, true);
    assert.equal(s.resolution, 'DNS');
    assert.deepEqual(r.endpoints('httpbin.org', 80).map((e) => `${e.address}:${e.port}`), ['httpbin.org:80']);
    assert.equal(r.resolveHost('httpbin.org', 'default').services[0], s);
  });
});
