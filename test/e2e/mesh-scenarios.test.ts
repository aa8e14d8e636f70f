/**
 * Istio's traffic tasks that bookinfo does not cover, end to end on a real local mesh: TCP traffic
 * shifting, circuit breaking and mirroring, each driven from a client pod whose sidecar captures
 * its traffic. Expected behaviour is what Istio's task pages describe.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Mesh, eventually, sailfin, skipReason } from './mesh-harness.js';
import { CLIENT, CONCURRENT_GET, TCP_CLIENT, nodeInPod, ROOT_NAMESPACE } from './scenario-fixtures.js';

const skip = skipReason();

const TCP_DR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: tcp-echo}
spec:
  host: tcp-echo
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;

/** The task's VirtualService, bound to the mesh (sidecars) instead of the ingress gateway. */
const tcpVs = (v2: number) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp-echo}
spec:
  hosts: [tcp-echo]
  tcp:
  - match: [{port: 9000}]
    route:
    - destination: {host: tcp-echo, port: {number: 9000}, subset: v1}
      weight: ${100 - v2}
    - destination: {host: tcp-echo, port: {number: 9000}, subset: v2}
      weight: ${v2}
`;

const count = (conns: string[][], word: string) => conns.filter((c) => c[0] === word).length;

describe('Istio traffic tasks on the local mesh', { skip, timeout: 240_000 }, () => {
  const mesh = new Mesh('sfe2esc', '10.95.0.0/16');
  let burst: Record<string, number> | undefined;
  let burstStats = '';

  before(() => {
    mesh.add('samples/tcp-echo/tcp-echo-services.yaml', 'samples/httpbin/httpbin-mirroring.yaml');
    mesh.write('client.yaml', CLIENT);
    mesh.write('tcp-dr.yaml', TCP_DR);
    mesh.write('tcp-vs.yaml', tcpVs(0));
    mesh.write('istio-system.yaml', ROOT_NAMESPACE);
    mesh.up();
  });
  after(() => mesh.down());

  it('TCP traffic shifting: 100% to v1, then 80/20, one connection staying on one version', async () => {
    const all = nodeInPod<string[][]>(mesh, 'client', TCP_CLIENT, ['tcp-echo', '9000', '10', '3']);
    assert.deepEqual(all.map((c) => c.join(',')), Array(10).fill('one,one,one'), 'every line of every connection answered by v1');
    mesh.write('tcp-vs.yaml', tcpVs(20));
    const split = await eventually('some connections on v2', () => {
      const r = nodeInPod<string[][]>(mesh, 'client', TCP_CLIENT, ['tcp-echo', '9000', '40', '1']);
      return count(r, 'two') > 0 ? r : undefined;
    }, 60_000, 1000);
    const two = count(split, 'two');
    assert.equal(count(split, 'one') + two, 40, `every connection answered: ${JSON.stringify(split)}`);
    // 80/20 over 40 connections: 8 expected; 1..20 leaves room for chance without accepting 50/50.
    assert.ok(two >= 1 && two <= 20, `v2 got ${two}/40`);
  });

  it('mirroring: v1 answers, v2 gets a copy with -shadow appended to the Host', async () => {
    mesh.add('samples/tasks/mirroring/httpbin-mirror.yaml');
    await eventually('mirror copy in v2 log', () => {
      const r = nodeInPod<Record<string, number>>(mesh, 'client', CONCURRENT_GET, ['http://httpbin:8000/headers?mirror-probe', '1']);
      assert.deepEqual(r, { 200: 1 });
      const v2 = sailfin(['logs', 'httpbin-v2', '--state-dir', mesh.stateDir]).stdout;
      return /GET \/headers\?mirror-probe .* host=httpbin-shadow/.test(v2) ? v2 : undefined;
    }, 60_000, 1000);
    const v1 = sailfin(['logs', 'httpbin-v1', '--state-dir', mesh.stateDir]).stdout;
    assert.match(v1, /GET \/headers\?mirror-probe .* host=httpbin(:8000)? /, 'the primary request still goes to v1 with the original Host');
    mesh.remove('samples_tasks_mirroring_httpbin-mirror.yaml');
  });

  it('circuit breaking: concurrent requests beyond one connection and one pending get 503 and count as overflow', async () => {
    mesh.add('samples/tasks/circuit-breaking/httpbin-circuit-breaker.yaml');
    const codes = await eventually('some requests tripped the breaker', () => {
      // /delay/1 keeps each request in flight long enough for the others to queue behind it.
      const r = nodeInPod<Record<string, number>>(mesh, 'client', CONCURRENT_GET, ['http://httpbin:8000/delay/1', '20']);
      return (r['503'] ?? 0) > 0 ? r : undefined;
    }, 60_000, 1000);
    burst = codes;
    assert.ok((codes['200'] ?? 0) >= 1, `some requests still succeed: ${JSON.stringify(codes)}`);
    const stats = sailfin(['exec', 'client', '--state-dir', mesh.stateDir, '--', 'curl', '-s', 'http://127.0.0.1:15000/stats']).stdout;
    burstStats = stats
      .split('\n')
      .filter((l) => l.includes('httpbin') && /(rq_pending|cx_active|cx_total|rq_total|rq_active|cx_open|cx_overflow|cx_destroy|connect_fail|rq_timeout)/.test(l))
      .join('; ');
    const overflow = /cluster\.outbound\|8000\|\|httpbin\.default\.svc\.cluster\.local\.upstream_rq_pending_overflow: (\d+)/.exec(stats);
    assert.ok(overflow && Number(overflow[1]) >= codes['503'], `pending overflow counted: ${overflow?.[0] ?? 'missing'}`);
    // Local overflow 503s are not the host's fault: outlier detection (consecutive5xxErrors: 1) must not eject it.
    const after = nodeInPod<Record<string, number>>(mesh, 'client', CONCURRENT_GET, ['http://httpbin:8000/get', '1']);
    assert.deepEqual(after, { 200: 1 }, 'a lone request after the burst still reaches httpbin');
  });

  // With maxConnections 1 and maxRequestsPerConnection 1 the queued request must get the
  // connection slot once the finished connection's socket has closed (h1-pool.ts), so every request
  // of the burst ends as 200 or 503 overflow and none waits for the client to give up.
  it('circuit breaking: the one pending request is served when the connection frees', () => {
    assert.ok(burst, 'runs after the burst');
    assert.equal((burst['200'] ?? 0) + (burst['503'] ?? 0), 20, `only 200 and 503, no stuck request: ${JSON.stringify(burst)}; client sidecar: ${burstStats}`);
  });
});
