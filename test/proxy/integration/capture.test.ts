/**
 * Transparent capture for real: in a test network namespace, iptables REDIRECTs connections for
 * 10.99.0.0/24 to the proxy's port 15001 (use_original_dst). The proxy reads SO_ORIGINAL_DST and hands
 * each connection to the bind_to_port:false listener for that address, or keeps it on its own
 * passthrough chain when none matches — Istio's virtual outbound listener.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { isCaptureSupported } from '../../../src/runtime/original-dst.js';
import { runProxy, staticCluster, tcpProxyFilter } from './harness.js';

function skipReason(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux';
  for (const cmd of ['ip', 'iptables']) if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) return `${cmd} is not installed`;
  const cap = isCaptureSupported();
  return cap.supported ? undefined : cap.reason;
}

function sh(...argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
}

/** Runs a small node program inside the namespace and returns its stdout. */
function nodeIn(ns: string, code: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', () => (clearTimeout(t), resolve(out.trim())));
  });
}

const ECHO = (tag: string, port: number): string =>
  `require('net').createServer(s=>{s.on('error',()=>{});s.write('${tag}:');s.pipe(s)}).listen(${port},'127.0.0.1',()=>console.log('up'))`;

const CLIENT = (host: string, port: number): string =>
  `const s=require('net').connect(${port},'${host}',()=>s.write('x'));let b='';s.on('data',d=>{b+=d;if(b.endsWith('x')){console.log(b);process.exit(0)}});s.on('error',e=>console.log('ERROR '+e.code));setTimeout(()=>{console.log('TIMEOUT '+b);process.exit()},3000)`;

test('use_original_dst hands captured connections to the listener for their original destination', { skip: skipReason() }, async (t) => {
  const ns = `sf-px-${randomBytes(3).toString('hex')}`;
  sh('ip', 'netns', 'add', ns);
  const cleanup: Array<() => void> = [() => spawnSync('ip', ['netns', 'del', ns])];
  t.after(() => {
    for (const c of cleanup.reverse()) c();
  });
  sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  sh('ip', '-n', ns, 'addr', 'add', '10.99.0.1/24', 'dev', 'lo');
  sh('ip', 'netns', 'exec', ns, 'iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '10.99.0.0/24', '-j', 'REDIRECT', '--to-ports', '15001');
  for (const [tag, port] of [['reviews', 19080], ['other', 19999]] as const) {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', ECHO(tag, port)], { stdio: ['ignore', 'pipe', 'ignore'] });
    cleanup.push(() => p.kill('SIGKILL'));
    await new Promise((r) => p.stdout.once('data', r));
  }
  const proxy = await runProxy(
    {
      static_resources: {
        clusters: [staticCluster('outbound|9080||reviews', [19080]), staticCluster('PassthroughStandIn', [19999])],
        listeners: [
          { name: 'virtualOutbound', address: { socket_address: { address: '0.0.0.0', port_value: 15001 } }, use_original_dst: true, filter_chains: [{ filters: [tcpProxyFilter('PassthroughStandIn')] }] },
          { name: '10.99.0.5_9080', address: { socket_address: { address: '10.99.0.5', port_value: 9080 } }, bind_to_port: false, filter_chains: [{ filters: [tcpProxyFilter('outbound|9080||reviews')] }] },
          { name: '0.0.0.0_7070', address: { socket_address: { address: '0.0.0.0', port_value: 7070 } }, bind_to_port: false, filter_chains: [{ filters: [tcpProxyFilter('outbound|9080||reviews')] }] },
        ],
      },
    },
    [],
    60_000,
    { netns: ns },
  );
  cleanup.push(() => proxy.proc.kill('SIGKILL'));
  // Exact address match, wildcard-address match, and no match (the 15001 listener's own chain).
  assert.equal(await nodeIn(ns, CLIENT('10.99.0.5', 9080)), 'reviews:x');
  assert.equal(await nodeIn(ns, CLIENT('10.99.0.77', 7070)), 'reviews:x');
  assert.equal(await nodeIn(ns, CLIENT('10.99.0.5', 1234)), 'other:x');
  await proxy.stop();
});
