/**
 * Leader election between two control-plane replicas over the stand-in API server's Lease endpoint
 * (test/kube/fake-api-server.ts stands in for a real API server, which cannot run here): one
 * leader at a time, takeover after the leader stops renewing, release on stop, and 409 conflicts
 * (create races, stale resourceVersions) resolved without two leaders.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { LeaderElector } from '../../src/kube/leader-election.js';
import { FakeApiServer, type StoredObject } from './fake-api-server.js';
import { standInKubeConfig } from './kubeconfig.js';

const LEASES = '/apis/coordination.k8s.io/v1/leases';
const TIMING = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 200 };

interface Replica {
  elector: LeaderElector;
  events: { leading: boolean; at: number }[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function replica(server: string, identity: string): Replica {
  const events: Replica['events'] = [];
  const elector = new LeaderElector(standInKubeConfig(server, identity), {
    namespace: 'istio-system',
    name: 'istio-leader',
    identity,
    ...TIMING,
    onStartedLeading: () => events.push({ leading: true, at: Date.now() }),
    onStoppedLeading: () => events.push({ leading: false, at: Date.now() }),
  });
  cleanups.push(() => elector.stop());
  return { elector, events };
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let lease_: () => unknown = () => undefined;

async function startApi(): Promise<{ api: FakeApiServer; server: string }> {
  const api = new FakeApiServer();
  const server = await api.start();
  lease_ = () => api.get(LEASES, 'istio-system', 'istio-leader');
  cleanups.push(() => api.close());
  return { api, server };
}

test('two replicas: exactly one leads, and the Lease names it', { timeout: 30_000 }, async () => {
  const { api, server } = await startApi();
  const a = replica(server, 'istiod-a');
  const b = replica(server, 'istiod-b');
  a.elector.start();
  b.elector.start();
  await until('a leader', () => a.elector.isLeader || b.elector.isLeader);
  // Several renew periods later, still exactly one, and both agree who it is.
  await new Promise((r) => setTimeout(r, TIMING.retryPeriodMs * 5));
  assert.notEqual(a.elector.isLeader, b.elector.isLeader);
  const leader = a.elector.isLeader ? 'istiod-a' : 'istiod-b';
  const lease = lease_() as { spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string } } | undefined;
  assert.equal(lease?.spec.holderIdentity, leader);
  assert.equal(lease?.spec.leaseDurationSeconds, 3);
  assert.match(lease!.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  await until('the follower to see the leader', () => (leader === 'istiod-a' ? b : a).elector.leader === leader);
});

test('the other replica takes over after the leader stops renewing, and never overlaps it', { timeout: 30_000 }, async () => {
  const { api, server } = await startApi();
  const a = replica(server, 'istiod-a');
  a.elector.start();
  await until('a to lead', () => a.elector.isLeader);
  const b = replica(server, 'istiod-b');
  b.elector.start();
  await new Promise((r) => setTimeout(r, TIMING.retryPeriodMs * 4));
  assert.equal(b.elector.isLeader, false, 'a valid lease is not taken');
  const cut = Date.now();
  api.unreachableFor.add('istiod-a'); // a is partitioned from the API server: it cannot renew
  await until('b to take over', () => b.elector.isLeader);
  const aStopped = a.events.find((e) => !e.leading)?.at;
  const bStarted = b.events.find((e) => e.leading)!.at;
  assert.ok(aStopped !== undefined, 'a stepped down when it could not renew');
  assert.ok(aStopped < bStarted, 'a stepped down before b started leading');
  assert.ok(bStarted - cut >= TIMING.leaseDurationMs - TIMING.retryPeriodMs * 2, `b waited for the lease to expire (${bStarted - cut} ms)`);
  const lease = lease_() as { spec: { holderIdentity: string; leaseTransitions: number } };
  assert.equal(lease.spec.holderIdentity, 'istiod-b');
  assert.equal(lease.spec.leaseTransitions, 1);
  // a, reconnected, finds b's fresh lease and stays a follower.
  api.unreachableFor.delete('istiod-a');
  await new Promise((r) => setTimeout(r, TIMING.retryPeriodMs * 4));
  assert.equal(a.elector.isLeader, false);
  assert.equal(b.elector.isLeader, true);
});

test('a leader that stops releases the lease, so the next one leads at once', { timeout: 30_000 }, async () => {
  const { api, server } = await startApi();
  const a = replica(server, 'istiod-a');
  a.elector.start();
  await until('a to lead', () => a.elector.isLeader);
  const b = replica(server, 'istiod-b');
  b.elector.start();
  await until('b to see a', () => b.elector.leader === 'istiod-a');
  const stopped = Date.now();
  await a.elector.stop();
  assert.equal(a.elector.isLeader, false);
  assert.equal((lease_() as { spec: { holderIdentity: string } }).spec.holderIdentity !== 'istiod-a', true);
  await until('b to lead', () => b.elector.isLeader);
  assert.ok(Date.now() - stopped < TIMING.leaseDurationMs, 'no wait for expiry after a release');
});

test('racing candidates for an expired lease: the 409 loser stays a follower', { timeout: 30_000 }, async () => {
  const { api, server } = await startApi();
  // A lease left by a replica that died without releasing; it is expired once observed unchanged long enough.
  api.put(LEASES, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'istio-leader', namespace: 'istio-system' }, spec: { holderIdentity: 'istiod-dead', leaseDurationSeconds: 1, renewTime: '2020-01-01T00:00:00.000000Z', leaseTransitions: 3 } });
  const replicas = ['istiod-a', 'istiod-b', 'istiod-c'].map((id) => replica(server, id));
  for (const r of replicas) r.elector.start();
  await until('one leader', () => replicas.some((r) => r.elector.isLeader));
  await new Promise((r) => setTimeout(r, TIMING.retryPeriodMs * 5));
  assert.equal(replicas.filter((r) => r.elector.isLeader).length, 1);
  assert.ok(replicas.every((r) => r.events.filter((e) => e.leading).length <= 1), 'nobody led twice');
  const lease = lease_() as { spec: { holderIdentity: string; leaseTransitions: number } };
  assert.equal(lease.spec.leaseTransitions, 4);
  assert.equal(lease.spec.holderIdentity, ['istiod-a', 'istiod-b', 'istiod-c'][replicas.findIndex((r) => r.elector.isLeader)]);
});

test('the leader renews with the Lease it last wrote, reading it again only after a conflict', { timeout: 30_000 }, async () => {
  const { api, server } = await startApi();
  const a = replica(server, 'istiod-a');
  a.elector.start();
  await until('a to lead', () => a.elector.isLeader);
  const leasePath = `${LEASES.replace('/leases', '/namespaces/istio-system/leases')}/istio-leader`;
  const count = (method: string) => api.requests.filter((r) => r === `${method} ${leasePath}`).length;
  const [gets, puts] = [count('GET'), count('PUT')];
  await until('five renewals', () => count('PUT') >= puts + 5);
  assert.equal(count('GET'), gets, 'renewals were not preceded by reads');
  // Someone else writes the Lease (a label, say): the stale renewal gets 409, the leader reads and renews.
  const current = lease_() as StoredObject;
  api.put(LEASES, { ...current, metadata: { ...current.metadata, labels: { touched: 'yes' } } });
  const conflicts = api.conflicts;
  await until('a conflict and a read', () => api.conflicts > conflicts && count('GET') > gets);
  const after = count('PUT');
  await until('renewals again', () => count('PUT') >= after + 2);
  assert.equal(a.elector.isLeader, true, 'the conflict did not cost the lead');
  assert.equal((lease_() as { metadata: { labels: Record<string, string> } }).metadata.labels.touched, 'yes', 'the other writer\'s change was kept');
  assert.equal(a.events.length, 1, 'led once, without a step-down');
});
