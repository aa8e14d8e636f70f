import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ControlPlane } from '../../src/discovery/control-plane.js';
import { overlayDir, writeState } from '../../src/mesh/state.js';

const SAILFIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'sailfin');
const run = (args: string[]) => spawnSync(process.execPath, [SAILFIN, ...args], { encoding: 'utf8' });

const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}, {name: v3, labels: {version: v3}}]
`;
const VS = (subset: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: ${subset}}}]}]
`;

async function until<T>(fn: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sailfin apply / delete on a running control plane (the mesh state names this test process as the running mesh)', () => {
  let stateDir: string;
  let configDir: string;
  let work: string;
  let cp: ControlPlane;
  const subset = () => {
    const vs = cp.store.get('VirtualService', 'default', 'reviews');
    return vs && JSON.stringify(vs.resource.spec).match(/"subset":"(\w+)"/)?.[1];
  };

  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'sailfin-apply-state-'));
    configDir = mkdtempSync(join(tmpdir(), 'sailfin-apply-config-'));
    work = mkdtempSync(join(tmpdir(), 'sailfin-apply-work-'));
    writeFileSync(join(configDir, 'svc.yaml'), SERVICE);
    writeFileSync(join(configDir, 'vs.yaml'), VS('v1'));
    cp = new ControlPlane({ paths: [configDir], host: '127.0.0.1', adsPort: 0, monitoringPort: 0, watch: true, logger: pino({ level: 'silent' }), overlayDir: overlayDir(stateDir) });
    await cp.start();
    writeState(stateDir, { pid: process.pid, startedAt: '', mode: 'netns', paths: [configDir], controlPlane: { adsPort: cp.adsPort, monitoringPort: cp.monitoringPort, address: '127.0.0.1' }, exposed: [], pods: [], services: [], ready: true, notes: [] });
  });
  after(async () => {
    await cp.close();
    for (const d of [stateDir, configDir, work]) rmSync(d, { recursive: true, force: true });
  });

  it('apply replaces an object defined in the manifest files, as kubectl apply does', async () => {
    writeFileSync(join(work, 'vs-v2.yaml'), VS('v2'));
    const r = run(['apply', '-f', join(work, 'vs-v2.yaml'), '--state-dir', stateDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /virtualservice\.networking\.istio\.io\/reviews configured/);
    assert.equal(await until(() => (subset() === 'v2' ? 'v2' : undefined)), 'v2');
  });

  it('an invalid change is refused whole with the analyzer error and changes nothing', async () => {
    writeFileSync(join(work, 'bad.yaml'), VS('v3') + '---\n' + VS('v3').replace('name: reviews', 'name: other').replace('hosts: [reviews]', 'hosts: [reviews]\n  gateways: [no-such-gateway]'));
    const r = run(['apply', '-f', join(work, 'bad.yaml'), '--state-dir', stateDir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /IST0101/);
    assert.match(r.stderr, /refused/);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(subset(), 'v2');
  });

  it('delete removes the object even though a manifest file defines it', async () => {
    const r = run(['delete', '-f', join(work, 'vs-v2.yaml'), '--state-dir', stateDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /reviews deleted/);
    await until(() => (cp.store.get('VirtualService', 'default', 'reviews') ? undefined : true));
    const again = run(['delete', '-f', join(work, 'vs-v2.yaml'), '--state-dir', stateDir]);
    assert.equal(again.status, 1);
    assert.match(again.stdout, /not found/);
  });
});
