import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ControlPlane } from '../../src/discovery/control-plane.js';
import { sidecarNodeId } from '../../src/pilot/proxy-info.js';
import { AdsClient } from '../../src/xds/client.js';
import type { EnvoyJson } from '../../src/xds/envoy-json.js';
import { TypeUrl, type XdsTypeUrl } from '../../src/xds/protos.js';
import { bookinfoServices } from '../pilot/bookinfo-fixture.js';
import { eventually } from '../xds/helpers.js';

const VS = (subset: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews, subset: ${subset}}}]
`;

describe('control plane over real ADS (the service view is a fixed fixture: the registry is tested on its own)', () => {
  let dir: string;
  let cp: ControlPlane;
  let client: AdsClient;
  const received = new Map<XdsTypeUrl, ReadonlyMap<string, EnvoyJson>>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sailfin-cp-'));
    writeFileSync(join(dir, 'reviews.yaml'), VS('v1'));
    cp = new ControlPlane({ paths: [dir], host: '127.0.0.1', adsPort: 0, monitoringPort: 0, watch: true, logger: pino({ level: 'silent' }), services: () => bookinfoServices(), debounceMs: 20 });
    await cp.start();
    client = new AdsClient({
      target: `127.0.0.1:${cp.adsPort}`,
      node: { id: sidecarNodeId('10.88.0.10', 'productpage-v1-abc', 'default'), metadata: { LABELS: { app: 'productpage' } } },
      events: {
        onResources(typeUrl, resources) {
          received.set(typeUrl, resources);
          if (typeUrl === TypeUrl.Listener) client.watch(TypeUrl.RouteConfiguration, ['9080']);
        },
      },
      logger: pino({ level: 'silent' }),
    });
    client.start();
  });

  after(async () => {
    client?.close();
    await cp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const reviewsCluster = () => {
    const rc = received.get(TypeUrl.RouteConfiguration)?.get('9080') as { virtual_hosts: Array<{ name: string; routes: Array<{ route?: { cluster?: string } }> }> } | undefined;
    return rc?.virtual_hosts.find((v) => v.name.startsWith('reviews.'))?.routes[0].route?.cluster;
  };

  it('serves clusters, listeners and the route table generated from the manifests', async () => {
    await eventually('clusters', () => received.get(TypeUrl.Cluster)?.get('outbound|9080||reviews.default.svc.cluster.local'));
    await eventually('listeners', () => received.get(TypeUrl.Listener)?.get('virtualInbound'));
    assert.equal(await eventually('route to v1', () => (reviewsCluster()?.includes('|v1|') ? reviewsCluster() : undefined)), 'outbound|9080|v1|reviews.default.svc.cluster.local');
  });

  it('pushes a changed file to the connected proxy', async () => {
    writeFileSync(join(dir, 'reviews.yaml'), VS('v3'));
    assert.equal(await eventually('route to v3', () => (reviewsCluster()?.includes('|v3|') ? reviewsCluster() : undefined)), 'outbound|9080|v3|reviews.default.svc.cluster.local');
  });

  it('refuses a broken change whole and keeps serving the last good config', async () => {
    writeFileSync(join(dir, 'reviews.yaml'), VS('v2').replace('hosts: [reviews]', 'hosts: reviews'));
    const r = await cp.reload();
    assert.equal(r.accepted, false);
    assert.ok(r.messages.some((m) => m.type.level === 'Error'));
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(reviewsCluster(), 'outbound|9080|v3|reviews.default.svc.cluster.local');
  });
});
