/**
 * The local mesh in explicit mode (`sailfin up --mode explicit`): no namespaces, no capture; each pod
 * on its own 127.x address, apps on a free PORT and sending HTTP through their sidecar as HTTP_PROXY.
 * Bookinfo through the ingress gateway on host loopback, header routing through forward-proxying
 * sidecars, mTLS between sidecars seen by the echo app, `exec`/`get`/`logs`/`proxy-config`, and a
 * `down` that leaves no process or socket. Needs no root; only curl (for the curl pod).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Mesh, ROOT, eventually, page, sailfin, stars } from './mesh-harness.js';

const SAILFIN = join(ROOT, 'bin', 'sailfin');

const POD_CIDR = '127.88.0.0/16';
const skip =
  process.platform !== 'linux' ? 'explicit mode uses all of 127.0.0.0/8 on lo, as Linux has it' : spawnSync('sh', ['-c', 'command -v curl && command -v ss']).status !== 0 ? 'needs curl and ss' : undefined;
const net = (f: string) => readFileSync(join(ROOT, 'samples', 'bookinfo', 'networking', f), 'utf8');
const JASON = { cookie: 'session=jason' };

function applyEach(mesh: Mesh, yaml: string): void {
  for (const doc of yaml.split(/^---$/m)) {
    const kind = /^kind: (\w+)/m.exec(doc)?.[1];
    const name = /^  name: ([\w-]+)/m.exec(doc)?.[1];
    if (kind && name) mesh.write(`${kind}-${name}.yaml`, doc);
  }
}

/** PIDs listening on the mesh's pod addresses or on the app ports (`ss -ltnp`). */
function listeners(appPorts: number[]): { lines: string[]; pids: number[] } {
  const out = spawnSync('ss', ['-ltnpH'], { encoding: 'utf8' }).stdout ?? '';
  const lines = out.split('\n').filter((l) => / 127\.88\.\d+\.\d+:\d+ /.test(l) || appPorts.some((p) => new RegExp(`:${p} `).test(l)));
  const pids = lines.flatMap((l) => [...l.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])));
  return { lines, pids: [...new Set(pids)] };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('explicit mode: the local mesh without namespaces', { skip, timeout: 230_000 }, () => {
  const mesh = new Mesh('sfe2eexp', POD_CIDR, 'explicit');
  let port: number;

  before(() => {
    mesh.add('samples/bookinfo/networking/bookinfo-gateway.yaml', 'samples/curl/curl.yaml', 'samples/httpbin/httpbin.yaml');
    mesh.up(['samples/platform', 'samples/bookinfo/platform']);
    port = mesh.ingressPort(8080);
  });
  after(() => mesh.down());

  it('says it runs in explicit mode and what that mode cannot do; pods get 127.x addresses, PORT and HTTP_PROXY', () => {
    assert.equal(mesh.state.mode, 'explicit');
    assert.match(mesh.upOutput, /explicit mode: no network namespaces and no traffic capture/);
    assert.match(mesh.upOutput, /not available: transparent capture, TCP/);
    const pp = mesh.state.pods.find((p) => p.name.startsWith('productpage-v1-'))!;
    assert.match(pp.ip, /^127\.88\./);
    assert.equal(pp.netns, undefined);
    assert.equal(pp.env?.HTTP_PROXY, `http://${pp.ip}:15001`);
    const reviewsPorts = mesh.state.pods.filter((p) => p.name.startsWith('reviews-')).map((p) => p.env?.PORT);
    assert.equal(new Set(reviewsPorts).size, 3, `three reviews pods, three different app ports (all containerPort 9080): ${reviewsPorts.join(',')}`);
    const get = sailfin(['get', 'pods', '-o', 'wide', '--state-dir', mesh.stateDir]);
    assert.match(get.stdout, /productpage-v1-\S+\s+2\/2\s+Running\s+\d+\s+127\.88\.\d+\.\d+\s+sidecar/);
    const env = sailfin(['exec', 'curl', '--state-dir', mesh.stateDir, '--', 'sh', '-c', 'echo "$http_proxy $PORT $POD_NAME"']);
    assert.match(env.stdout, /^http:\/\/127\.88\.\d+\.\d+:15001 \d+ curl-/);
  });

  it('serves the product page, with reviews, through the ingress gateway on 127.0.0.1', async () => {
    const res = await eventually('product page with reviews', async () => {
      const r = await page(port);
      return r.status === 200 && r.body.includes('Reviewer1') ? r : undefined;
    }, 60_000);
    assert.match(res.body, /<title>Simple Bookstore App<\/title>/);
    const listenersOut = sailfin(['proxy-config', 'listeners', 'productpage', '--state-dir', mesh.stateDir]);
    assert.match(listenersOut.stdout, /explicit_http_proxy\s+127\.88\.\d+\.\d+\s+15001/);
    assert.doesNotMatch(listenersOut.stdout, /virtualOutbound|virtualInbound/);
  });

  it('routes by header through the explicit proxies: jason to reviews v2 (black stars), others to v1', async () => {
    applyEach(mesh, net('destination-rule-all.yaml'));
    applyEach(mesh, net('virtual-service-all-v1.yaml'));
    await eventually('no stars, 5 times in a row', async () => {
      for (let i = 0; i < 5; i++) if (stars((await page(port)).body) !== 'none') return undefined;
      return true;
    }, 60_000);
    applyEach(mesh, net('virtual-service-reviews-test-v2.yaml'));
    await eventually('jason sees black stars', async () => (stars((await page(port, '/productpage', JASON)).body) === 'black' ? true : undefined), 60_000);
    for (let i = 0; i < 3; i++) assert.equal(stars((await page(port)).body), 'none', 'other users stay on v1');
  });

  it('a curl pod reaches the echo service through HTTP_PROXY, sidecar to sidecar over mTLS', async () => {
    const r = await eventually('echo /headers through the curl sidecar', () => {
      const c = mesh.execCurl('curl', 'http://httpbin:8000/headers');
      return c.code === '200' ? c : undefined;
    }, 60_000);
    // The server sidecar terminated mTLS and tells the app who called (Istio's XFCC).
    assert.match(r.body, /"X-Forwarded-Client-Cert": "By=spiffe:\/\/cluster\.local\/ns\/default\/sa\/httpbin;.*URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/curl/);
    assert.match(r.body, /"X-Envoy-Attempt-Count": "1"/);
    const unknown = mesh.execCurl('curl', 'http://not-a-service:8000/');
    assert.equal(unknown.code, '502', 'hosts the mesh does not know get a 502 with a reason');
    assert.match(unknown.body, /explicit mode/);
    const log = sailfin(['logs', 'curl', '-c', 'proxy', '--state-dir', mesh.stateDir]);
    assert.match(log.stdout, /"GET \/headers HTTP\/1\.1" 200 .*outbound\|8000\|\|httpbin\.default\.svc\.cluster\.local/);
  });

  it('down stops every process and closes every socket it opened', async () => {
    const appPorts = mesh.refresh().pods.map((p) => Number(p.env?.PORT)).filter((p) => p > 0);
    const before = listeners(appPorts);
    assert.ok(before.lines.length >= 10, `sidecars and apps listen: ${before.lines.length}`);
    const upPid = mesh.state.pid;
    const r = sailfin(['down', '--state-dir', mesh.stateDir], 60_000);
    assert.equal(r.status, 0, r.stderr);
    await eventually('nothing left', () => {
      const now = listeners(appPorts);
      return now.lines.length === 0 && !alive(upPid) && before.pids.every((p) => !alive(p)) ? true : undefined;
    }, 20_000);
  });
});

describe('explicit mode: chosen by --mode auto where namespaces cannot be made', { skip, timeout: 150_000 }, () => {
  // Run as an unprivileged user for real (root drops to nobody); a non-root run is already one.
  const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  const stateDir = mkdtempSync(join(tmpdir(), 'sailfin-e2e-sfe2eexp-auto-'));
  const configDir = mkdtempSync(join(tmpdir(), 'sailfin-e2e-sfe2eexp-auto-config-'));
  const run = (args: string[], timeout = 60_000) => {
    const argv = [...asUser, process.execPath, SAILFIN, args[0], '--state-dir', stateDir, ...args.slice(1)];
    return spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout, env: { ...process.env, HOME: tmpdir() } });
  };

  before(() => {
    for (const f of ['samples/curl/curl.yaml', 'samples/httpbin/httpbin.yaml']) copyFileSync(join(ROOT, f), join(configDir, f.replace(/\//g, '_')));
    chmodSync(configDir, 0o755);
    if (asUser.length) chownSync(stateDir, 65534, 65534);
  });
  after(() => {
    run(['down']);
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(configDir, { recursive: true, force: true });
  });

  it('an unprivileged up falls back to explicit mode, says why, and carries traffic', () => {
    const up = run(['up', '--detach', '--mode', 'auto', '--xds-port', '0', '--monitoring-port', '0', '--ca-port', '0', '--pod-cidr', '127.89.0.0/16', '--ready-timeout', '90', '-f', configDir], 120_000);
    assert.equal(up.status, 0, `${up.stdout}\n${up.stderr}`);
    assert.match(up.stdout, /netns mode cannot run here \(.*needs root.*\), so the mesh runs in explicit mode/);
    assert.match(up.stdout, /explicit mode: no network namespaces/);
    const r = run(['exec', 'curl', '--', 'curl', '-s', '-m', '10', 'http://httpbin:8000/headers']);
    assert.match(r.stdout, /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/curl/, r.stderr);
  });
});
