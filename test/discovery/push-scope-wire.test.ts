/**
 * The push scope of a VirtualService change, seen on the wire: a real discovery server, real ADS
 * streams from sidecars of three namespaces, and a VirtualService file that changes. An HTTP-only
 * rule change sends route tables only (no clusters, listeners or endpoints), and only to the
 * namespaces the rule is exported to, before or after the change (Istio pushes a proxy only when its
 * sidecar scope can see the changed config: a VirtualService with `exportTo: ["."]` is invisible
 * to other namespaces). An AuthorizationPolicy reaches the workloads of its namespace only.
 * push-scope.test.ts tests the decision function alone.
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
import { eventually } from '../xds/helpers.js';
import { WireSidecar, quiet } from './wire-sidecar.js';

const NAMESPACES = ['team-a', 'team-b', 'team-c'];

const services = NAMESPACES.map(
  (ns) => `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: ${ns}}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
`,
).join('---\n');

/** The rule under test: team-a's reviews, with a timeout that tells one version from the next. */
function virtualService(timeout: string, exportTo?: string[]): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: team-a}
spec:
  hosts: [reviews]
${exportTo ? `  exportTo: ${JSON.stringify(exportTo)}\n` : ''}  http:
  - timeout: ${timeout}
    route: [{destination: {host: reviews}}]
`;
}

/** Subscribes like Envoy (clusters, listeners, the 9080 route table) and ACKs everything. */
class Sidecar extends WireSidecar {
  constructor(port: number, readonly namespace: string, index: number) {
    const nodeId = sidecarNodeId(`10.88.0.${index + 10}`, `productpage-${index}`, namespace);
    const subscriptions: Array<[string, string[]]> = [[TypeUrl.Cluster, []], [TypeUrl.Listener, []], [TypeUrl.RouteConfiguration, ['9080']]];
    super(port, nodeId, { NAMESPACE: namespace, LABELS: { app: 'productpage' } }, subscriptions, (res, stream) => stream.answer(res, res.type_url === TypeUrl.RouteConfiguration ? ['9080'] : []));
  }

  /** The timeout of team-a's reviews route in the last route table received. */
  reviewsTimeout(): unknown {
    const table = this.last(TypeUrl.RouteConfiguration)?.[0] as { virtual_hosts?: Array<{ name: string; routes: Array<{ route?: { timeout?: unknown } }> }> } | undefined;
    return table?.virtual_hosts?.find((v) => v.name === 'reviews.team-a.svc.cluster.local:9080')?.routes[0].route?.timeout;
  }
}

describe('push scope over the wire: VirtualService and AuthorizationPolicy changes', () => {
  let dir: string;
  let cp: ControlPlane;
  const sidecars: Sidecar[] = [];
  const pushes: Array<{ reasons: string[]; proxies: number; responses: number }> = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sailfin-push-scope-'));
    writeFileSync(join(dir, 'services.yaml'), services);
    writeFileSync(join(dir, 'vs.yaml'), virtualService('1s', ['.']));
    // Reloads are driven by the test (watch off) so each file change is exactly one push.
    cp = new ControlPlane({ paths: [dir], host: '127.0.0.1', adsPort: 0, monitoringPort: 0, watch: false, logger: pino({ level: 'silent' }), debounceMs: 20 });
    await cp.start();
    cp.ads!.on('pushed', (info) => pushes.push(info));
    NAMESPACES.forEach((ns, i) => sidecars.push(new Sidecar(cp.adsPort, ns, i)));
    await eventually('every sidecar synced', () => sidecars.every((s) => ['CDS', 'LDS', 'RDS'].every((t) => s.types().includes(t))), 15_000);
    await quiet(sidecars);
  });

  after(async () => {
    await Promise.all(sidecars.map((s) => s.close()));
    await cp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Changes a file (the VirtualService's by default), reloads, and returns what each namespace's sidecar then received and what the push reached. */
  async function change(yaml: string, expectRds: readonly string[], file = 'vs.yaml'): Promise<{ received: Record<string, string[]>; push: { proxies: number; responses: number } }> {
    for (const s of sidecars) s.log.length = 0;
    pushes.length = 0;
    writeFileSync(join(dir, file), yaml);
    assert.equal((await cp.reload()).accepted, true);
    await eventually('the push', () => pushes.length > 0, 10_000);
    await eventually(`route tables in ${expectRds.join(', ')}`, () => sidecars.filter((s) => expectRds.includes(s.namespace)).every((s) => s.types().includes('RDS')), 10_000);
    await quiet(sidecars);
    assert.equal(pushes.length, 1, 'one change, one push');
    return { received: Object.fromEntries(sidecars.map((s) => [s.namespace, s.types()])), push: pushes[0] };
  }

  it('the sidecars start with team-a\'s rule in team-a only', () => {
    const [a, b, c] = sidecars;
    assert.equal(a.reviewsTimeout(), '1s');
    // Without the rule the route has Istio's default timeout, 0s (none).
    assert.equal(b.reviewsTimeout(), '0s', 'exportTo ["."] hides it from team-b');
    assert.equal(c.reviewsTimeout(), '0s');
  });

  it('exported to its own namespace: only team-a\'s sidecar is pushed, and only its route table', async () => {
    const { received, push } = await change(virtualService('2s', ['.']), ['team-a']);
    assert.deepEqual(received, { 'team-a': ['RDS'], 'team-b': [], 'team-c': [] });
    assert.equal(push.proxies, 1, 'the other namespaces are not even evaluated');
    assert.equal(sidecars[0].reviewsTimeout(), '2s');
  });

  it('exported to team-b as well: team-a and team-b get route tables, team-c nothing', async () => {
    const { received, push } = await change(virtualService('3s', ['.', 'team-b']), ['team-a', 'team-b']);
    assert.deepEqual(received, { 'team-a': ['RDS'], 'team-b': ['RDS'], 'team-c': [] });
    assert.equal(push.proxies, 2);
    assert.equal(sidecars[1].reviewsTimeout(), '3s', 'team-b now routes by team-a\'s rule');
  });

  it('withdrawn from team-b: team-b is still pushed (the rule it had must go), team-c is not', async () => {
    const { received, push } = await change(virtualService('4s', ['.']), ['team-a', 'team-b']);
    assert.deepEqual(received, { 'team-a': ['RDS'], 'team-b': ['RDS'], 'team-c': [] });
    assert.equal(push.proxies, 2);
    assert.equal(sidecars[1].reviewsTimeout(), '0s');
  });

  it('exported everywhere (no exportTo): every namespace gets a route table, still nothing else', async () => {
    const { received, push } = await change(virtualService('5s'), NAMESPACES);
    assert.deepEqual(received, { 'team-a': ['RDS'], 'team-b': ['RDS'], 'team-c': ['RDS'] });
    assert.equal(push.proxies, 3);
    assert.ok(sidecars.every((s) => s.reviewsTimeout() === '5s'));
  });

  it('an AuthorizationPolicy reaches its own namespace only: listeners (RBAC), and the route tables that follow them', async () => {
    const policy = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: team-b}
spec: {}
`;
    const { received, push } = await change(policy, ['team-b'], 'authz.yaml');
    assert.deepEqual(received, { 'team-a': [], 'team-b': ['LDS', 'RDS'], 'team-c': [] });
    assert.equal(push.proxies, 1);
  });
});
