/**
 * Operating the local mesh as a user would: `get`, `logs` (app and proxy access log), `exec`, live
 * reload adding and removing a Deployment, pods that cannot run (missing command, crash loop) reported
 * while the rest keep running, a second `up` refused, and `down` leaving nothing on the machine (Istio
 * metrics and traces: telemetry.test.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Mesh, eventually, sailfin, skipReason } from './mesh-harness.js';
import { CLIENT, ROOT_NAMESPACE } from './scenario-fixtures.js';

const skip = skipReason();

const WEB = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web, version: v1}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec:
      containers:
      - name: web
        command: [sailfin-sample, echo, --port, '8080']
`;

const deployment = (name: string, command: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: main
        command: ${command}
`;

const pods = (mesh: Mesh) => sailfin(['get', 'pods', '--state-dir', mesh.stateDir]).stdout;
const netnsList = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;

describe('operating the local mesh', { skip, timeout: 240_000 }, () => {
  const mesh = new Mesh('sfe2eop', '10.98.0.0/16');

  before(() => {
    mesh.write('web.yaml', WEB);
    mesh.write('client.yaml', CLIENT);
    mesh.write('istio-system.yaml', ROOT_NAMESPACE);
    mesh.up();
  });
  after(() => mesh.down());

  it('get pods shows every pod Running with its restarts; exec and logs reach the pod', async () => {
    const out = pods(mesh);
    assert.match(out, /NAME\s+READY\s+STATUS\s+RESTARTS/);
    assert.match(out, /web-\S+\s+2\/2\s+Running\s+0/);
    assert.match(out, /client-\S+\s+2\/2\s+Running\s+0/);
    const r = await eventually('web answers', () => {
      const c = mesh.execCurl('client', 'http://web:8080/ip?ops-probe');
      return c.code === '200' ? c : undefined;
    }, 90_000, 1000); // the first request waits for the client sidecar's config and certificate
    assert.match(r.body, /"origin"/);
    const exec = sailfin(['exec', 'web', '--state-dir', mesh.stateDir, '--', 'sh', '-c', 'echo "$POD_NAME"; exit 7']);
    assert.equal(exec.status, 7, 'exec passes the exit code through');
    assert.match(exec.stdout, /^web-/);
    const appLog = sailfin(['logs', 'web', '--state-dir', mesh.stateDir]).stdout;
    assert.match(appLog, /GET \/ip\?ops-probe/);
    const proxyLog = await eventually('client access log line', () => {
      const l = sailfin(['logs', 'client', '-c', 'proxy', '--state-dir', mesh.stateDir]).stdout;
      return /ops-probe/.test(l) ? l : undefined;
    });
    assert.match(proxyLog.split('\n').find((l) => l.includes('ops-probe'))!, /GET \/ip\?ops-probe HTTP\/1\.1" 200/);
    const missing = sailfin(['logs', 'nope', '--state-dir', mesh.stateDir]);
    assert.notEqual(missing.status, 0);
    assert.doesNotMatch(missing.stderr, /\n\s+at /, 'no stack trace');
  });

  it('a second up on the same state directory is refused with a clear message', () => {
    const r = sailfin(['up', '--detach', '--state-dir', mesh.stateDir, '-f', mesh.configDir], 30_000);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /already running/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.match(pods(mesh), /web-\S+\s+2\/2\s+Running/, 'the running mesh is untouched');
  });

  it('a missing command and a crashing container are reported; the other pods keep running', async () => {
    mesh.write('missing.yaml', deployment('missing', '[no-such-command-sailfin]'));
    mesh.write('crasher.yaml', deployment('crasher', "[sh, -c, 'echo about to crash; exit 3']"));
    const out = await eventually('crasher restarted', () => {
      const o = pods(mesh);
      const m = /crasher-\S+\s+\S+\s+(\S+)\s+(\d+)/.exec(o);
      return m && Number(m[2]) >= 1 && /missing-\S+\s+\S+\s+CrashLoopBackOff/.test(o) ? o : undefined;
    }, 90_000, 1000);
    assert.match(out, /crasher-\S+\s+\d\/2\s+(CrashLoopBackOff|Running)\s+[1-9]/);
    assert.match(out, /web-\S+\s+2\/2\s+Running\s+0/);
    const json = JSON.parse(sailfin(['get', 'pods', '-o', 'json', '--state-dir', mesh.stateDir]).stdout) as { pods: Array<{ name: string; message?: string }> };
    const missing = json.pods.find((p) => p.name.startsWith('missing-'));
    assert.match(missing?.message ?? '', /no-such-command-sailfin/, 'the pod says which command is missing');
    assert.match(sailfin(['logs', 'crasher', '--state-dir', mesh.stateDir]).stdout, /about to crash/);
    assert.equal(mesh.execCurl('client', 'http://web:8080/ip').code, '200', 'other pods are unaffected');
    mesh.remove('missing.yaml');
    mesh.remove('crasher.yaml');
  });

  it('live reload: a Deployment added to the watched directory starts; removed, its pod and netns go', async () => {
    mesh.write('extra.yaml', deployment('extra', '[sleep, infinity]'));
    const netns = await eventually('extra running', () => {
      const p = mesh.refresh().pods.find((x) => x.name.startsWith('extra-'));
      return p?.phase === 'Running' ? p.netns : undefined;
    }, 60_000);
    assert.ok(netns && netnsList().includes(netns), `netns ${netns} exists`);
    mesh.remove('extra.yaml');
    await eventually('extra gone', () => (!mesh.refresh().pods.some((x) => x.name.startsWith('extra-')) && !netnsList().includes(netns!) ? true : undefined), 60_000);
  });

  it('down leaves no namespace, link or iptables rule behind', () => {
    const netns = mesh.refresh().pods.map((p) => p.netns!).filter(Boolean);
    assert.ok(netns.length >= 2);
    const r = sailfin(['down', '--state-dir', mesh.stateDir], 60_000);
    assert.equal(r.status, 0, r.stderr);
    const left = netnsList();
    for (const n of netns) assert.ok(!left.includes(n), `netns ${n} removed`);
    assert.notEqual(spawnSync('ip', ['link', 'show', mesh.bridge]).status, 0, 'bridge removed');
    assert.doesNotMatch(spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout, new RegExp(mesh.bridge), 'no veth of the mesh left');
    const rules = spawnSync('sh', ['-c', 'iptables-save; iptables-save -t nat'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(rules, /10\.98\.|sfe2eop/, 'no host iptables rule for the mesh');
  });
});
