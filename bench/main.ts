/**
 * `npm run bench`: Sailfin's proxy against nginx, HAProxy and node-http-proxy, measured in one run
 * with the same backend and load generator (issue 8). Options:
 *   --seconds N     duration of each saturation run (default 10)
 *   --rounds N      interleaved rounds of the L7 and latency/cost runs, medians reported (default 3)
 *   --only a,b      any of l7, scaling, l4, latency, cost, cp (control plane at scale: bench/control-plane.ts)
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ensurePeers } from './peers-install.js';
import { measureInterleaved } from './interleaved.js';
import { startBackend, startHaproxy, startNginxProxy, startNodeFloor, startNodeHttpProxy } from './peers.js';
import { cpuSeconds, freePort, processTree, stopAll, stopProcess } from './processes.js';
import { fmt, printTable, verdict, type Row } from './report.js';
import { httpProxyBootstrap, tcpProxyBootstrap } from './sailfin-configs.js';
import { startSailfin } from './sailfin-process.js';
import { runWrk } from './wrk.js';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] || 0) || 10;
const rounds = Number(args[args.indexOf('--rounds') + 1] || 0) || 3;
const onlyArg = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : undefined;
const runs = (name: string) => !onlyArg || onlyArg.includes(name);
const verdicts: string[] = [];

async function measure(name: string, start: () => Promise<ChildProcess | undefined>, url: string, connections = 64): Promise<Row> {
  let proc: ChildProcess | undefined;
  try {
    proc = await start();
    await runWrk(peers.wrk, url, { connections, threads: 1, seconds: 1 }); // warm-up
    const pids = proc?.pid ? processTree(proc.pid) : [];
    const cpu0 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
    const r = await runWrk(peers.wrk, url, { connections, threads: 1, seconds });
    const cpu = pids.reduce((a, p) => a + cpuSeconds(p), 0) - cpu0;
    const bad = r.errors + r.non2xx;
    const big = url.endsWith('/big');
    const units = big ? r.transferMBps * seconds : r.requests;
    return { name, value: big ? r.transferMBps : r.requestsPerSec, unit: big ? 'MB/s' : 'req/s', note: bad ? `${bad} errors/non-2xx` : undefined, cpuPerUnit: pids.length && units ? (cpu * 1e6) / units : undefined };
  } catch (err) {
    return { name, value: NaN, unit: '', note: `failed: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    if (proc) await stopProcess(proc);
  }
}

if (onlyArg?.includes('cp')) {
  // Needs no peers: the control plane at scale against its own targets.
  const { runControlPlaneBench, printControlPlaneReport } = await import('./control-plane.js');
  const lines = printControlPlaneReport(await runControlPlaneBench({ log: (l) => console.log(`# ${l}`) }));
  console.log(`\n${lines.join('\n')}`);
  if (onlyArg.length === 1) process.exit(0);
}

/**
 * Judges a throughput target by work per CPU-second when both sides were measured: on a loaded
 * machine (load average 30 on 2 cores here) the wall-clock rate mostly says how much CPU the
 * scheduler happened to give each process, and a proxy that got more of it looks faster.
 */
function throughputVerdict(label: string, sailfin: Row, peer: Row, factor: number): string {
  const wall = sailfin.value / peer.value;
  if (sailfin.cpuPerUnit && peer.cpuPerUnit) {
    const perCpu = peer.cpuPerUnit / sailfin.cpuPerUnit;
    return verdict(label, perCpu >= factor, `${fmt(perCpu)}x per CPU-second (wall-clock ${fmt(wall)}x)`);
  }
  return verdict(label, wall >= factor, `${fmt(wall)}x`);
}

const peers = ensurePeers();
const dir = mkdtempSync(join(tmpdir(), 'sailfin-bench-'));
// nginx workers drop root privileges (to nobody) and must still read the backend's files.
chmodSync(dir, 0o755);
try {
  const backendPort = await freePort();
  await startBackend(peers.nginx, dir, backendPort);
  const backend = `http://127.0.0.1:${backendPort}`;
  console.log(`# Sailfin benchmark: ${seconds}s runs, wrk -t1 -c64, HTTP/1.1 keep-alive, backend nginx on :${backendPort}`);

  if (runs('l7')) {
    // Interleaved slices (bench/interleaved.ts): every proxy sees the same neighbour load.
    const p = { sailfin: await freePort(), nginx: await freePort(), haproxy: await freePort(), nhp: await freePort(), floor: await freePort() };
    const rows = await measureInterleaved(
      peers.wrk,
      [
        { name: 'direct', url: `${backend}/`, start: async () => undefined },
        { name: 'sailfin (1 worker)', url: `http://127.0.0.1:${p.sailfin}/`, start: async () => startSailfin(dir, 'l7', httpProxyBootstrap(p.sailfin, await freePort(), backendPort), p.sailfin) },
        { name: 'nginx (1 worker)', url: `http://127.0.0.1:${p.nginx}/`, start: () => startNginxProxy(peers.nginx, dir, p.nginx, backendPort, 1) },
        { name: 'haproxy (1 thread)', url: `http://127.0.0.1:${p.haproxy}/`, start: () => startHaproxy(peers.haproxy, dir, p.haproxy, backendPort, 'http', 1) },
        { name: 'node-http-proxy', url: `http://127.0.0.1:${p.nhp}/`, start: () => startNodeHttpProxy(dir, p.nhp, backendPort) },
        { name: 'node floor (bytes only)', url: `http://127.0.0.1:${p.floor}/`, start: () => startNodeFloor(dir, p.floor, backendPort) },
      ],
      { seconds, rounds, connections: 64 },
    );
    printTable(`L7 throughput (requests/s at saturation, small response; medians of ${rounds} interleaved slices)`, rows);
    verdicts.push(throughputVerdict('L7 >= 1.0x nginx', rows[1], rows[2], 1));
    verdicts.push(throughputVerdict('L7 >= 3x node-http-proxy', rows[1], rows[4], 3));
  }

  if (runs('scaling')) {
    const rows: Row[] = [];
    for (const workers of [1, 2]) {
      const port = await freePort();
      rows.push(await measure(`sailfin (${workers} worker${workers > 1 ? 's' : ''})`, async () => startSailfin(dir, `scale${workers}`, httpProxyBootstrap(port, await freePort(), backendPort), port, workers), `http://127.0.0.1:${port}/`));
    }
    const port = await freePort();
    rows.push(await measure('nginx (2 workers)', () => startNginxProxy(peers.nginx, dir, port, backendPort, 2), `http://127.0.0.1:${port}/`));
    printTable('Scaling (--concurrency 1 and 2)', rows);
  }

  if (runs('l4')) {
    const rows: Row[] = [];
    rows.push(await measure('direct', async () => undefined, `${backend}/big`, 16));
    let port = await freePort();
    rows.push(await measure('sailfin tcp_proxy', async () => startSailfin(dir, 'l4', tcpProxyBootstrap(port, await freePort(), backendPort), port), `http://127.0.0.1:${port}/big`, 16));
    port = await freePort();
    rows.push(await measure('haproxy (mode tcp)', () => startHaproxy(peers.haproxy, dir, port, backendPort, 'tcp', 1), `http://127.0.0.1:${port}/big`, 16));
    printTable('L4 throughput (MB/s of 1 MB responses through tcp_proxy)', rows);
    verdicts.push(throughputVerdict('L4 >= 0.9x HAProxy', rows[1], rows[2], 0.9));
  }

  if (runs('latency') || runs('cost')) {
    const { runLatencyAndCost } = await import('./latency-cost.js');
    verdicts.push(...(await runLatencyAndCost({ dir, backendPort, seconds, rounds, latency: runs('latency'), cost: runs('cost') })));
  }
  console.log(`\n## Targets (issue 8)\n${verdicts.join('\n')}`);
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
