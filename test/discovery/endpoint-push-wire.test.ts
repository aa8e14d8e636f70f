/**
 * The push an EndpointSlice change makes, seen on the wire: a real discovery server and real ADS streams
 * from two sidecars that subscribe like Envoy (every cluster, then the EDS clusters' assignments). A slice
 * of a Service without a selector that only moves endpoints sends EDS, only that service's assignment,
 * only to the sidecar that sees the service (Istio's incremental EDS); a slice that puts a sidecar's own
 * address behind the service also gives that sidecar its inbound side (Istio's ProxyUpdate); a headless
 * service's slice change, or one that brings the service a new identity (the clusters' SANs), is pushed
 * in full.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ControlPlane } from '../../src/discovery/control-plane.js';
import { sidecarNodeId } from '../../src/pilot/proxy-info.js';
import { TypeUrl } from '../../src/xds/protos.js';
import { decoded, eventually } from '../xds/helpers.js';
import { WireSidecar, quiet } from './wire-sidecar.js';

const DB = 'outbound|5432||db.team-a.svc.cluster.local';

/** `db` and `peers` (headless) are team-a's only; `web` is seen everywhere. */
const services = `apiVersion: v1
kind: Service
metadata: {name: db, namespace: team-a, annotations: {networking.istio.io/exportTo: "."}}
spec: {clusterIP: 10.96.0.30, ports: [{name: tcp, port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: peers, namespace: team-a, annotations: {networking.istio.io/exportTo: "."}}
spec: {clusterIP: None, ports: [{name: tcp, port: 7000}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: team-b}
spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: team-a, labels: {app: db}}
spec: {serviceAccountName: postgres, containers: [{name: db, image: postgres}]}
status: {phase: Running, podIP: 10.244.9.7, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: client-v2, namespace: team-a}
spec: {selector: {matchLabels: {version: v2}}, mtls: {mode: STRICT}}
`;

/** An endpoint written as the endpoint controller writes a pod's: with a targetRef the registry resolves. */
const DB_POD = '{addresses: [10.244.9.7], targetRef: {kind: Pod, name: db-0, namespace: team-a}}';

function slice(service: string, port: number, addresses: readonly string[]): string {
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${service}-1, namespace: team-a, labels: {kubernetes.io/service-name: ${service}}}
addressType: IPv4
ports: [{name: tcp, port: ${port}}]
endpoints: [${addresses.map((a) => (a.startsWith('{') ? a : `{addresses: [${a}]}`)).join(', ')}]
`;
}

/** Subscribes like Envoy: every cluster and listener, then the assignments of the EDS clusters it got. */
class Sidecar extends WireSidecar {
  constructor(port: number, readonly namespace: string, readonly ip: string) {
    let edsNames: string[] = [];
    super(port, sidecarNodeId(ip, `app-${namespace}`, namespace), { NAMESPACE: namespace, LABELS: { app: 'client' } }, [[TypeUrl.Cluster, []], [TypeUrl.Listener, []]], (res, stream) => {
      if (res.type_url !== TypeUrl.Cluster) return stream.answer(res, res.type_url === TypeUrl.ClusterLoadAssignment ? edsNames : []);
      stream.answer(res, []);
      const names = (decoded(res) as Array<{ name: string; type?: string }>).filter((c) => c.type === 'EDS').map((c) => c.name).sort();
      if (names.join() === edsNames.join()) return;
      edsNames = names;
      stream.send({ type_url: TypeUrl.ClusterLoadAssignment, resource_names: names });
    });
  }
}

/** The pod behind sidecar a (no Service selects it); at version v2 the PeerAuthentication client-v2 selects it. */
function clientPod(version: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: client, namespace: team-a, labels: {app: client, version: ${version}}}
spec: {containers: [{name: client, image: client}]}
status: {phase: Running, podIP: 10.88.0.10, conditions: [{type: Ready, status: "True"}]}
`;
}

function addressesOf(cla: Record<string, unknown>): string[] {
  const groups = (cla.endpoints ?? []) as Array<{ lb_endpoints?: Array<{ endpoint: { address: { socket_address: { address: string } } } }> }>;
  return groups.flatMap((g) => g.lb_endpoints ?? []).map((e) => e.endpoint.address.socket_address.address).sort();
}

describe('push scope over the wire: EndpointSlice changes', () => {
  let dir: string;
  let cp: ControlPlane;
  let a: Sidecar;
  let b: Sidecar;
  const pushes: Array<{ reasons: string[]; proxies: number; responses: number }> = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sailfin-endpoint-push-'));
    writeFileSync(join(dir, 'services.yaml'), services);
    writeFileSync(join(dir, 'db-slice.yaml'), slice('db', 5432, ['10.244.9.1']));
    writeFileSync(join(dir, 'peers-slice.yaml'), slice('peers', 7000, ['10.244.8.1']));
    writeFileSync(join(dir, 'client-pod.yaml'), clientPod('v1'));
    cp = new ControlPlane({ paths: [dir], host: '127.0.0.1', adsPort: 0, monitoringPort: 0, watch: false, logger: pino({ level: 'silent' }), debounceMs: 20 });
    await cp.start();
    cp.ads!.on('pushed', (info) => pushes.push(info));
    a = new Sidecar(cp.adsPort, 'team-a', '10.88.0.10');
    b = new Sidecar(cp.adsPort, 'team-b', '10.88.0.11');
    await eventually('both sidecars have clusters, listeners and endpoints', () => [a, b].every((s) => ['CDS', 'LDS', 'EDS'].every((t) => s.types().includes(t))), 15_000);
    await quiet([a, b]);
  });

  after(async () => {
    await Promise.all([a, b].filter(Boolean).map((s) => s.close()));
    await cp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function change(file: string, yaml: string): Promise<{ a: string[]; b: string[]; reasons: string[]; proxies: number }> {
    for (const s of [a, b]) s.log.length = 0;
    pushes.length = 0;
    writeFileSync(join(dir, file), yaml);
    assert.equal((await cp.reload()).accepted, true);
    await eventually('the push', () => pushes.length > 0, 10_000);
    // Every response the push sent has arrived (a loaded machine can be slower than quiet()'s window),
    // then whatever the sidecars' follow-up requests bring.
    const sent = () => pushes.reduce((n, p) => n + p.responses, 0);
    await eventually('the pushed responses to arrive', () => a.log.length + b.log.length >= sent(), 10_000);
    await quiet([a, b]);
    return { a: a.types(), b: b.types(), reasons: pushes.flatMap((p) => p.reasons), proxies: pushes.reduce((n, p) => n + p.proxies, 0) };
  }

  it('only team-a sees db', () => {
    assert.ok(a.last(TypeUrl.Cluster)!.some((c) => c.name === DB));
    assert.ok(!b.last(TypeUrl.Cluster)!.some((c) => c.name === DB));
  });

  it('a slice that moves endpoints sends only db\'s assignment, only to team-a', async () => {
    const got = await change('db-slice.yaml', slice('db', 5432, ['10.244.9.1', '10.244.9.2']));
    assert.deepEqual({ a: got.a, b: got.b }, { a: ['EDS'], b: [] });
    assert.deepEqual(got.reasons, ['endpoint']);
    assert.equal(got.proxies, 1, 'team-b is not even evaluated');
    const eds = a.last(TypeUrl.ClusterLoadAssignment)!;
    assert.deepEqual(eds.map((c) => c.cluster_name), [DB], 'the other assignments did not change and are not resent');
    assert.deepEqual(addressesOf(eds[0]), ['10.244.9.1', '10.244.9.2']);
  });

  it('a slice that puts team-a\'s own sidecar behind db gives it its inbound side too', async () => {
    const got = await change('db-slice.yaml', slice('db', 5432, ['10.244.9.1', '10.244.9.2', a.ip]));
    assert.deepEqual(got.b, []);
    assert.deepEqual([...new Set(got.a)].sort(), ['CDS', 'EDS', 'LDS']);
    assert.ok(a.last(TypeUrl.Cluster)!.some((c) => c.name === 'inbound|5432||'), 'an inbound cluster for the port it now serves');
  });

  it('a headless service\'s slice is pushed in full: its endpoints are listeners', async () => {
    const got = await change('peers-slice.yaml', slice('peers', 7000, ['10.244.8.1', '10.244.8.2']));
    assert.deepEqual(got.reasons, ['config']);
    assert.ok(got.a.includes('LDS'), `team-a got ${got.a.join(', ')}`);
    assert.ok(a.last(TypeUrl.Listener)!.some((l) => l.name === '10.244.8.2_7000'), 'a listener for the new pod address');
    assert.deepEqual(got.b, [], 'nothing of team-b\'s changed, so nothing reached it');
  });

  it('a slice that brings db a pod of a new service account is pushed in full: the identity is in db\'s cluster', async () => {
    const sans = () => JSON.stringify(a.last(TypeUrl.Cluster)?.find((c) => c.name === DB));
    assert.ok(!sans().includes('/sa/postgres'));
    const got = await change('db-slice.yaml', slice('db', 5432, ['10.244.9.1', DB_POD]));
    assert.deepEqual(got.reasons, ['config']);
    assert.ok(got.a.includes('CDS'), `team-a got ${got.a.join(', ')}`);
    assert.ok(sans().includes('/sa/postgres'), 'the client now accepts the postgres identity');
    assert.deepEqual(got.b, []);
  });

  it('a pod whose labels change gets its own clusters and listeners again, though no service selects it', async () => {
    const got = await change('client-pod.yaml', clientPod('v2'));
    assert.deepEqual(got.reasons, ['proxy']);
    assert.ok(got.a.includes('LDS'), `team-a got ${got.a.join(', ')}`);
    const inbound = JSON.stringify(a.last(TypeUrl.Listener)!.find((l) => l.name === 'virtualInbound'));
    assert.ok(!inbound.includes('"raw_buffer"'), 'the STRICT policy selecting version v2 now applies: no plaintext inbound chain');
    assert.deepEqual(got.b, []);
  });
});
