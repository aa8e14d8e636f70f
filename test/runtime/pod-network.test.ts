/**
 * Pods on the mesh bridge, for real: two namespaces reach each other and the bridge address over TCP,
 * teardown leaves no namespace or link behind, and what a killed run left is removed by the next one.
 * Bridges, CIDRs and names are unique per run so this never meets a real `sailfin up` on the machine.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createBridge } from '../../src/runtime/bridge.js';
import { createPodNetwork, writeResolvConf } from '../../src/runtime/netns.js';
import { cleanupLeftovers, NetworkState, processStartTime, stopMesh } from '../../src/runtime/network-state.js';
import { distRoot, netnsSkipReason, removeDir, runIn, scratchDir, sh, startIn, tag, Teardown, writeClient, writeResponder } from './netns-fixture.js';

function hostState(): string {
  return `${sh('ip', 'netns', 'list')}\n${sh('ip', '-o', 'link')}`;
}

describe('pod networks on the mesh bridge', { skip: netnsSkipReason() }, () => {
  const teardown = new Teardown();
  const dir = scratchDir();
  teardown.fn(() => removeDir(dir));
  after(() => teardown.run());
  const client = writeClient(dir);
  const responder = writeResponder(dir);
  const ipForwardBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');

  test('two pods reach each other and the bridge address over TCP; teardown leaves nothing', async () => {
    const t = tag();
    const stateDir = join(dir, 'state-a');
    const state = await NetworkState.open(stateDir);
    teardown.fn(() => cleanupLeftovers(stateDir, { force: true }));
    const bridge = await createBridge(state, { name: `sft${t}`, podCidr: `10.251.${parseInt(t.slice(0, 2), 16)}.0/24` });
    const a = await createPodNetwork(state, bridge, 'default/client-0', { namePrefix: `sf-t${t}` });
    const b = await createPodNetwork(state, bridge, 'default/server-0', { namePrefix: `sf-t${t}` });
    assert.notEqual(a.ip, b.ip);
    assert.match(sh('ip', 'netns', 'list'), new RegExp(a.netns));
    assert.match(sh('ip', '-n', a.netns, 'route'), new RegExp(`default via ${bridge.gateway} dev eth0`));

    const server = await startIn(b.netns, [process.execPath, responder, 'server', '8080'], teardown);
    const reply = JSON.parse(await runIn(a.netns, [process.execPath, client, b.ip, '8080'])) as { role: string };
    assert.equal(reply.role, 'server');

    // A host-side service on the bridge address (where the control plane listens) is reachable too.
    const host = createServer((s) => s.end(JSON.stringify({ role: 'host' })));
    await new Promise<void>((resolve) => host.listen(0, bridge.gateway, resolve));
    const hostPort = (host.address() as AddressInfo).port;
    const fromPod = await runIn(b.netns, [process.execPath, client, bridge.gateway, String(hostPort)]);
    host.close();
    assert.equal(JSON.parse(fromPod).role, 'host');
    server.kill('SIGKILL');

    await state.teardown();
    const after = hostState();
    for (const name of [a.netns, b.netns, a.hostLink, b.hostLink, bridge.name]) assert.doesNotMatch(after, new RegExp(name));
    assert.equal(existsSync(join(stateDir, 'network.json')), false);
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), ipForwardBefore, 'ip_forward is never changed');
  });

  test('what a killed run left (bridge, namespaces, links, /etc/netns, processes) is removed by the next run', async () => {
    const t = tag();
    const stateDir = join(dir, 'state-b');
    teardown.fn(() => cleanupLeftovers(stateDir, { force: true }));
    const mod = (name: string) => JSON.stringify(pathToFileURL(join(distRoot, 'src', 'runtime', name)).href);
    const script = join(dir, 'killed-run.mjs');
    writeFileSync(
      script,
      `import { spawn } from 'node:child_process';
import { NetworkState, processStartTime } from ${mod('network-state.js')};
import { createBridge } from ${mod('bridge.js')};
import { createPodNetwork, writeResolvConf } from ${mod('netns.js')};
const state = await NetworkState.open(${JSON.stringify(stateDir)});
const bridge = await createBridge(state, { name: 'sft${t}', podCidr: '10.251.${parseInt(t.slice(2, 4), 16)}.0/24' });
const pod = await createPodNetwork(state, bridge, 'default/left-0', { namePrefix: 'sf-t${t}' });
writeResolvConf(state, pod.netns, { nameservers: ['127.0.0.1'], search: ['default.svc.cluster.local'] });
const app = spawn('ip', ['netns', 'exec', pod.netns, 'sleep', '60'], { stdio: 'ignore', detached: true });
app.unref();
await new Promise((r) => setTimeout(r, 100));
state.add({ kind: 'process', pid: app.pid, startTime: processStartTime(app.pid) });
console.log(JSON.stringify({ pod, app: app.pid }));
setInterval(() => {}, 1000);
`,
    );
    const child = teardown.child(spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the run did not start')), 10_000);
      child.stdout!.once('data', (d) => {
        clearTimeout(timer);
        resolve(String(d));
      });
    });
    const { pod, app } = JSON.parse(line) as { pod: { netns: string; hostLink: string }; app: number };
    assert.ok(existsSync(`/etc/netns/${pod.netns}/resolv.conf`));
    const appStart = processStartTime(app);
    assert.notEqual(appStart, '');

    // While the owner lives, a second run refuses rather than tearing its network down.
    await assert.rejects(NetworkState.open(stateDir), /another sailfin \(pid \d+\) is running/);

    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.match(hostState(), new RegExp(pod.netns), 'the killed run left its namespace');

    const removed = await cleanupLeftovers(stateDir);
    assert.deepEqual(removed.map((r) => r.kind).sort(), ['bridge', 'etc-netns', 'link', 'netns', 'process']);
    const left = hostState();
    for (const name of [pod.netns, pod.hostLink, `sft${t}`]) assert.doesNotMatch(left, new RegExp(name));
    assert.equal(existsSync(`/etc/netns/${pod.netns}`), false);
    assert.notEqual(processStartTime(app), appStart, 'the pod process was killed');
  });
  test('stopMesh (sailfin down) lets a running mesh tear itself down, and kills and cleans one that ignores SIGTERM', async () => {
    const mod = (name: string) => JSON.stringify(pathToFileURL(join(distRoot, 'src', 'runtime', name)).href);
    async function startMesh(stateDir: string, t: string, onTerm: 'teardown' | 'ignore'): Promise<number> {
      const script = join(dir, `mesh-${t}.mjs`);
      writeFileSync(
        script,
        `import { NetworkState } from ${mod('network-state.js')};
import { createBridge } from ${mod('bridge.js')};
import { createPodNetwork } from ${mod('netns.js')};
const state = await NetworkState.open(${JSON.stringify(stateDir)});
const bridge = await createBridge(state, { name: 'sft${t}', podCidr: '10.251.${parseInt(t.slice(0, 2), 16)}.0/24' });
await createPodNetwork(state, bridge, 'default/p-0', { namePrefix: 'sf-t${t}' });
process.on('SIGTERM', async () => { ${onTerm === 'teardown' ? 'await state.teardown(); process.exit(0);' : ''} });
console.log('ready');
setInterval(() => {}, 1000);
`,
      );
      const child = teardown.child(spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] }));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the mesh did not start')), 10_000);
        child.stdout!.once('data', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      return child.pid!;
    }

    const polite = tag();
    const politeDir = join(dir, 'state-polite');
    teardown.fn(() => cleanupLeftovers(politeDir, { force: true }));
    const politePid = await startMesh(politeDir, polite, 'teardown');
    const r1 = await stopMesh(politeDir, { graceMs: 5000 });
    assert.deepEqual(r1, { stoppedPid: politePid, killed: false, removed: [] }, 'it removed its own things');
    assert.doesNotMatch(hostState(), new RegExp(`sft${polite}|sf-t${polite}`));

    const stubborn = tag();
    const stubbornDir = join(dir, 'state-stubborn');
    teardown.fn(() => cleanupLeftovers(stubbornDir, { force: true }));
    const stubbornPid = await startMesh(stubbornDir, stubborn, 'ignore');
    const r2 = await stopMesh(stubbornDir, { graceMs: 300 });
    assert.equal(r2.stoppedPid, stubbornPid);
    assert.equal(r2.killed, true);
    assert.deepEqual(r2.removed.map((c) => c.kind).sort(), ['bridge', 'link', 'netns']);
    assert.doesNotMatch(hostState(), new RegExp(`sft${stubborn}|sf-t${stubborn}`));

    assert.deepEqual(await stopMesh(join(dir, 'never-used')), { stoppedPid: undefined, killed: false, removed: [] });
  });
});
