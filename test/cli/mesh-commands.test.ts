import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { statePaths, writeState, type MeshState } from '../../src/mesh/state.js';

const SAILFIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'sailfin');
const run = (args: string[]) => spawnSync(process.execPath, [SAILFIN, ...args], { encoding: 'utf8' });

/** A mesh state as `sailfin up` writes it, owned by this (live) test process so commands accept it. */
function state(): MeshState {
  return {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    mode: 'netns',
    paths: ['samples/bookinfo'],
    controlPlane: { adsPort: 15010, monitoringPort: 15014, address: '10.88.0.1' },
    exposed: [],
    ready: true,
    notes: [],
    pods: [
      { name: 'reviews-v1-7c9d8b5f4d-abcde', namespace: 'default', ip: '10.88.0.12', netns: 'sf-test-nonexistent', sidecar: true, phase: 'Running', ready: true, restarts: 0, containers: ['reviews'], labels: { app: 'reviews' } },
      { name: 'curl-5d8f9c6b7a-xyz12', namespace: 'legacy', ip: '10.88.0.20', sidecar: false, phase: 'CrashLoopBackOff', ready: false, restarts: 3, containers: ['curl'], labels: { app: 'curl' } },
    ],
    services: [{ name: 'reviews', namespace: 'default', hostname: 'reviews.default.svc.cluster.local', addresses: ['10.96.0.12'], ports: [{ port: 9080, name: 'http', protocol: 'HTTP' }] }],
  };
}

describe('local-mesh commands against a mesh state', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sailfin-state-'));
    writeState(dir, state());
    mkdirSync(join(statePaths(dir).logs, 'default_reviews-v1-7c9d8b5f4d-abcde'), { recursive: true });
    writeFileSync(join(statePaths(dir).logs, 'default_reviews-v1-7c9d8b5f4d-abcde', 'reviews.log'), 'reviews v1 listening on 9080\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('get pods lists pods kubectl-style, with -o wide adding IP and proxy', () => {
    const r = run(['get', 'pods', '--state-dir', dir, '-o', 'wide']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+IP\s+PROXY/);
    assert.match(r.stdout, /default\s+reviews-v1-7c9d8b5f4d-abcde\s+2\/2\s+Running\s+0\s+10\.88\.0\.12\s+sidecar/);
    assert.match(r.stdout, /legacy\s+curl-5d8f9c6b7a-xyz12\s+0\/1\s+CrashLoopBackOff\s+3/);
  });

  it('get services shows VIPs and ports; -o json is machine-readable', () => {
    assert.match(run(['get', 'svc', '--state-dir', dir]).stdout, /reviews\s+10\.96\.0\.12\s+9080\/HTTP \(http\)/);
    const json = JSON.parse(run(['get', 'all', '--state-dir', dir, '-o', 'json', '-n', 'default']).stdout);
    assert.equal(json.pods.length, 1);
    assert.equal(json.services[0].hostname, 'reviews.default.svc.cluster.local');
  });

  it('logs prints a container log, found by pod name prefix, and names the containers when one is missing', () => {
    const r = run(['logs', 'reviews-v1', '--state-dir', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'reviews v1 listening on 9080\n');
    const missing = run(['logs', 'reviews-v1', '-c', 'nope', '--state-dir', dir]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /has no container "nope"; it has: reviews/);
  });

  it('unknown pods and missing meshes are clear errors without stack traces', () => {
    const r = run(['logs', 'ghost', '--state-dir', dir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /pod "ghost" not found/);
    const empty = mkdtempSync(join(tmpdir(), 'sailfin-empty-'));
    try {
      const none = run(['get', 'pods', '--state-dir', empty]);
      assert.equal(none.status, 1);
      assert.match(none.stderr, /no mesh is running/);
      assert.doesNotMatch(none.stderr, /at .*\.js:\d+/);
      const down = run(['down', '--state-dir', empty]);
      assert.equal(down.status, 0, down.stderr);
      assert.match(down.stdout, /no mesh was running/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('proxy-config needs a proxy: a pod without a sidecar is refused, an unreachable admin is named', () => {
    const r = run(['proxy-config', 'clusters', 'curl', '-n', 'legacy', '--state-dir', dir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /has no proxy/);
    const unreachable = run(['pc', 'listeners', '--admin', '127.0.0.1:1']);
    assert.equal(unreachable.status, 1);
    assert.match(unreachable.stderr, /cannot reach the proxy admin at http:\/\/127\.0\.0\.1:1\/config_dump/);
  });
});
