import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ControlPlane } from '../../src/discovery/control-plane.js';
import { sidecarNodeId } from '../../src/pilot/proxy-info.js';
import { AdsClient } from '../../src/xds/client.js';
import type { EnvoyJson } from '../../src/xds/envoy-json.js';
import { TypeUrl, type XdsTypeUrl } from '../../src/xds/protos.js';
import { eventually } from '../xds/helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('control plane on the bookinfo sample, through the real registry', () => {
  let dir: string;
  let cp: ControlPlane;
  let client: AdsClient;
  const received = new Map<XdsTypeUrl, ReadonlyMap<string, EnvoyJson>>();
  const versions: Array<{ type: XdsTypeUrl; version: string }> = [];
  const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sailfin-cp-bookinfo-'));
    cpSync(join(ROOT, 'samples', 'bookinfo', 'platform'), dir, { recursive: true });
    cp = new ControlPlane({ paths: [dir], host: '127.0.0.1', adsPort: 0, monitoringPort: 0, watch: true, logger: pino({ level: 'silent' }), debounceMs: 20 });
    await cp.start();
    const pp = cp.registry.allPods().find((p) => p.labels.app === 'productpage')!;
    client = new AdsClient({
      target: `127.0.0.1:${cp.adsPort}`,
      node: { id: sidecarNodeId(pp.address, pp.name, 'default'), metadata: { LABELS: pp.labels } },
      events: {
        onResources(typeUrl, resources, version) {
          received.set(typeUrl, resources);
          versions.push({ type: typeUrl, version });
          if (typeUrl === TypeUrl.Cluster) client.watch(TypeUrl.ClusterLoadAssignment, [...resources.keys()].filter((n) => n.startsWith('outbound|')));
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

  const reviewsEndpoints = () => {
    const cla = received.get(TypeUrl.ClusterLoadAssignment)?.get(REVIEWS) as { endpoints: Array<{ lb_endpoints: unknown[] }> } | undefined;
    return cla?.endpoints.flatMap((e) => e.lb_endpoints).length;
  };

  it('every Deployment became pods with addresses, and reviews has its three versions as endpoints', async () => {
    assert.equal(cp.registry.allPods().length, 6);
    assert.equal(await eventually('3 reviews endpoints', () => (reviewsEndpoints() === 3 ? 3 : undefined)), 3);
    const inbound = (await eventually('listeners', () => received.get(TypeUrl.Listener)?.get('virtualInbound'))) as { filter_chains: Array<{ filter_chain_match?: { destination_port?: number } }> };
    assert.ok(inbound.filter_chains.some((c) => c.filter_chain_match?.destination_port === 9080), 'productpage serves 9080');
  });

  it('scaling a Deployment is an endpoint-only push: clusters are not sent again, pod addresses stay', async () => {
    const before = new Map(cp.registry.allPods().map((p) => [p.name, p.address]));
    const cdsBefore = versions.filter((v) => v.type === TypeUrl.Cluster).length;
    const file = join(dir, 'bookinfo.yaml');
    const text = readFileSync(file, 'utf8');
    // reviews-v3 goes from 1 to 2 replicas.
    const scaled = text.replace(/(name: reviews-v3\n[\s\S]*?replicas: )1/, '$12');
    assert.notEqual(scaled, text);
    writeFileSync(file, scaled);
    assert.equal(await eventually('4 reviews endpoints', () => (reviewsEndpoints() === 4 ? 4 : undefined)), 4);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(versions.filter((v) => v.type === TypeUrl.Cluster).length, cdsBefore, 'no CDS push for an endpoint change');
    for (const [name, addr] of before) assert.equal(cp.registry.allPods().find((p) => p.name === name)?.address, addr, `${name} kept its address`);
  });
});
