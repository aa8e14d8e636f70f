/**
 * Istio's egress tasks end to end on a real local mesh. "External" services are servers in a network
 * namespace this test creates and attaches to the mesh bridge with addresses from 203.0.113.0/24
 * (TEST-NET-3, never on the host); pods that must reach them get a route to it in their own namespace.
 * Names resolve through ServiceEntry addresses and each pod's DNS proxy.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeCa, makeLeaf, platformWithoutIngress, type Pki } from './gateway-fixtures.js';
import { Mesh, ROOT, eventually, sailfin, skipReason } from './mesh-harness.js';

const skip = skipReason();
const EXT_NS = 'sfe2eeg-ext';
const EXT_LINK = 'sfe2eeg-x0';
const HTTP_IP = '203.0.113.10';
const TLS_IP = '203.0.113.11';
const SECOND_IP = '203.0.113.12';

/**
 * pool.ext.test has two addresses in the mesh's DNS (a resolution NONE entry on an unused port only names
 * them); the DNS and DNS_ROUND_ROBIN entries use that name as their endpoint, which the proxy resolves.
 * hostonly.ext.test has no endpoints: as in Istio, the proxy resolves the host itself.
 */
const SE_DNS = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext-names}
spec:
  hosts: [pool.ext.test]
  addresses: [${HTTP_IP}, ${SECOND_IP}]
  ports: [{number: 9, name: tcp-discard, protocol: TCP}]
  location: MESH_EXTERNAL
  resolution: NONE
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dns-strict}
spec:
  hosts: [strict.example.test]
  addresses: [240.240.0.1]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  location: MESH_EXTERNAL
  resolution: DNS
  endpoints: [{address: pool.ext.test}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dns-rr}
spec:
  hosts: [rr.example.test]
  addresses: [240.240.0.2]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  location: MESH_EXTERNAL
  resolution: DNS_ROUND_ROBIN
  endpoints: [{address: pool.ext.test}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dns-host-only}
spec:
  hosts: [hostonly.ext.test]
  addresses: [${HTTP_IP}, ${SECOND_IP}]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  location: MESH_EXTERNAL
  resolution: DNS
`;

function sh(cmd: string): void {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
}

const se = (name: string, host: string, ip: string, ports: string, extra = '') => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${host}]
  addresses: [${ip}]
  ports:
${ports}
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: ${ip}}]
${extra}`;

describe('egress on the local mesh', { skip, timeout: 240_000 }, () => {
  const mesh = new Mesh('sfe2eeg', '10.94.0.0/16');
  const servers: ChildProcess[] = [];
  let pki: Pki;
  let curlPod: string;
  const platform = platformWithoutIngress(ROOT);
  const curl = (url: string, extra: string[] = []) => mesh.execCurl(curlPod, url, extra);

  /** Routes 203.0.113.0/24 on-link inside a pod's namespace, so it reaches the external namespace. */
  function routeToExternal(pod: string): void {
    const netns = mesh.refresh().pods.find((p) => p.name === pod)?.netns;
    assert.ok(netns, `pod ${pod} has a network namespace`);
    sh(`ip -n ${netns} route replace 203.0.113.0/24 dev eth0`);
  }

  before(() => {
    pki = makeCa();
    const ext = makeLeaf(pki, 'secure.example.test', 7001);
    mesh.write('platform.yaml', platform);
    mesh.add('samples/curl/curl.yaml');
    mesh.up();
    sh(`ip netns del ${EXT_NS} 2>/dev/null; ip link del ${EXT_LINK} 2>/dev/null; ip netns add ${EXT_NS}`);
    sh(`ip link add ${EXT_LINK} type veth peer name eth0 netns ${EXT_NS} && ip link set ${EXT_LINK} master sfe2eeg up`);
    sh(`ip -n ${EXT_NS} link set lo up && ip -n ${EXT_NS} link set eth0 up`);
    for (const ip of [HTTP_IP, TLS_IP, SECOND_IP]) sh(`ip -n ${EXT_NS} addr add ${ip}/24 dev eth0`);
    sh(`ip -n ${EXT_NS} route add 10.94.0.0/16 dev eth0`);
    servers.push(spawn('ip', ['netns', 'exec', EXT_NS, join(ROOT, 'bin', 'sailfin-sample'), 'echo', '--port', '80'], { stdio: 'ignore' }));
    servers.push(spawn('ip', ['netns', 'exec', EXT_NS, 'openssl', 's_server', '-www', '-accept', `${TLS_IP}:443`, '-cert', ext.crt, '-key', ext.key], { stdio: 'ignore' }));
    // On :8080 a server that answers with the address it was reached on: which DNS answer a proxy used.
    const whoAmI = "require('http').createServer((q, s) => s.end('served-by=' + q.socket.localAddress.replace('::ffff:', '') + '\\n')).listen(8080)";
    servers.push(spawn('ip', ['netns', 'exec', EXT_NS, process.execPath, '-e', whoAmI], { stdio: 'ignore' }));
    curlPod = mesh.state.pods.find((p) => p.name.startsWith('curl'))!.name;
    routeToExternal(curlPod);
  });
  after(() => {
    for (const s of servers) s.kill();
    spawnSync('sh', ['-c', `ip netns del ${EXT_NS}; ip link del ${EXT_LINK}`]);
    mesh.down();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it('ALLOW_ANY: an unknown external IP is reached through the PassthroughCluster', async () => {
    await eventually('200 from the external server', () => (curl(`http://${HTTP_IP}/status/200`).code === '200' ? true : undefined), 60_000);
  });

  it('REGISTRY_ONLY: 502 for HTTP, closed connection for TLS; a ServiceEntry re-allows the host', async () => {
    mesh.write('platform.yaml', platform.replace('mode: ALLOW_ANY', 'mode: REGISTRY_ONLY'));
    await eventually('502', () => (curl(`http://${HTTP_IP}/status/200`).code === '502' ? true : undefined), 30_000);
    const tls = curl(`https://${TLS_IP}/`, ['-k']);
    assert.equal(tls.code, '000', 'TLS to an unknown host is closed');
    assert.notEqual(tls.exit, 0);

    mesh.write('se-ext.yaml', se('ext', 'ext.example.test', HTTP_IP, '  - {number: 80, name: http, protocol: HTTP}'));
    const ok = await eventually('200 by name', () => {
      const r = curl('http://ext.example.test/headers');
      return r.code === '200' ? r : undefined;
    }, 30_000);
    assert.match(ok.body, /ext\.example\.test/i);
  });

  it('VirtualService timeout 3s on the external host: /delay/5 is 504 after about 3 s', async () => {
    mesh.write(
      'vs-ext.yaml',
      `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: ext}\nspec:\n  hosts: [ext.example.test]\n  http:\n  - timeout: 3s\n    route: [{destination: {host: ext.example.test}}]\n`,
    );
    const r = await eventually('504', () => {
      const started = Date.now();
      const x = curl('http://ext.example.test/delay/5');
      return x.code === '504' ? { ...x, ms: Date.now() - started } : undefined;
    }, 40_000, 500);
    assert.ok(r.ms >= 2900, `took ${r.ms} ms`);
  });

  it('TLS origination: plain HTTP from the app, HTTPS to the external server', async () => {
    mesh.write('se-secure.yaml', se('secure', 'secure.example.test', TLS_IP, '  - {number: 80, name: http-port, protocol: HTTP, targetPort: 443}'));
    mesh.write(
      'dr-secure.yaml',
      `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: secure}\nspec:\n  host: secure.example.test\n  trafficPolicy:\n    portLevelSettings:\n    - port: {number: 80}\n      tls: {mode: SIMPLE, sni: secure.example.test, caCertificates: ${pki.caCrt}}\n`,
    );
    const r = await eventually('200 over originated TLS', () => {
      const x = curl('http://secure.example.test/');
      return x.code === '200' ? x : undefined;
    }, 30_000);
    assert.match(r.body, /s_server|Ciphers/i, 'answered by the TLS-only server');
  });

  it('ServiceEntry DNS spreads over every address of the endpoint name (or of the host); DNS_ROUND_ROBIN keeps one', async () => {
    mesh.write('se-dns.yaml', SE_DNS);
    // One `sailfin exec` for all twelve requests: each exec is a process start, slow on a loaded machine.
    const servedBy = (host: string) => {
      const loop = `for i in 1 2 3 4 5 6 7 8 9 10 11 12; do curl -s -m 5 http://${host}:8080/; done`;
      const out = sailfin(['exec', curlPod, '--state-dir', mesh.stateDir, '--', 'sh', '-c', loop], 90_000).stdout ?? '';
      return [...out.matchAll(/served-by=(\S+)/g)].map((m) => m[1]);
    };
    const strict = await eventually('both addresses behind STRICT_DNS', () => {
      const seen = servedBy('strict.example.test');
      return new Set(seen).size === 2 ? seen : undefined;
    }, 60_000, 1000);
    assert.deepEqual([...new Set(strict)].sort(), [HTTP_IP, SECOND_IP]);
    const rr = await eventually('answers over DNS_ROUND_ROBIN', () => {
      const seen = servedBy('rr.example.test');
      return seen.length === 12 ? seen : undefined;
    }, 60_000, 1000);
    assert.equal(new Set(rr).size, 1, `one address at a time, saw ${rr.join(' ')}`);
    const eps = sailfin(['proxy-config', 'endpoints', curlPod, '--state-dir', mesh.stateDir]).stdout;
    assert.equal(eps.split('\n').filter((l) => l.includes('outbound|8080||rr.example.test')).length, 1, eps);
    assert.equal(eps.split('\n').filter((l) => l.includes('outbound|8080||strict.example.test')).length, 2, eps);
    await eventually('the host-only DNS entry to answer', () => (curl('http://hostonly.ext.test:8080/').code === '200' ? true : undefined), 30_000, 500);
    const hostOnly = sailfin(['proxy-config', 'endpoints', curlPod, '--state-dir', mesh.stateDir]).stdout;
    assert.equal(hostOnly.split('\n').filter((l) => l.includes('outbound|8080||hostonly.ext.test')).length, 2, hostOnly);
  });

  it('ServiceEntry resolution NONE: under REGISTRY_ONLY, TLS to its address goes to the original destination', async () => {
    // Test 2 showed TLS to this address closed under REGISTRY_ONLY; NONE lets it through unresolved.
    mesh.write(
      'se-none.yaml',
      `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: tls-none}\nspec:\n  hosts: [none.example.test]\n  addresses: [${TLS_IP}]\n  ports: [{number: 443, name: tls, protocol: TLS}]\n  location: MESH_EXTERNAL\n  resolution: NONE\n`,
    );
    const r = await eventually('TLS through', () => {
      const x = curl(`https://${TLS_IP}/`, ['-k']);
      return x.code === '200' ? x : undefined;
    }, 40_000, 1000);
    assert.match(r.body, /s_server|Ciphers/i);
    const log = sailfin(['logs', curlPod, '-c', 'proxy', '--state-dir', mesh.stateDir]).stdout;
    assert.match(log, /outbound\|443\|\|none\.example\.test/);
  });

  // The egress gateway tasks (HTTP, ISTIO_MUTUAL, TLS passthrough) are in egress-gateway.test.ts.
});
