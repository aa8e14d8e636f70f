/**
 * `npm run bench`: Sailfin's proxy against nginx, HAProxy and node-http-proxy, measured in one run
 * with the same backend and load generator (issue 8). Options:
 *   --seconds N     duration of each saturation run (default 10)
 *   --only a,b      any of l7, scaling, l4, latency, cost, cp (control plane at scale: bench/control-plane.ts)
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { constantRate } from './constant-rate.js';
import { ensurePeers } from './peers-install.js';
import { startBackend, startHaproxy, startNginxProxy, startNodeHttpProxy } from './peers.js';
import { makePki } from './pki.js';
import { cpuSeconds, freePort, memoryMb, processTree, stopAll, stopProcess } from './processes.js';
import { fmt, printTable, verdict, type Row } from './report.js';
import { clientSidecarBootstrap, httpProxyBootstrap, largeMeshBootstrap, serverSidecarBootstrap, tcpProxyBootstrap } from './sailfin-configs.js';
import { startSailfin } from './sailfin-process.js';
import { runWrk } from './wrk.js';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] || 0) || 10;
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
    const rows: Row[] = [];
    rows.push(await measure('direct', async () => undefined, `${backend}/`));
    let port = await freePort();
    rows.push(await measure('sailfin (1 worker)', async () => startSailfin(dir, 'l7', httpProxyBootstrap(port, await freePort(), backendPort), port), `http://127.0.0.1:${port}/`));
    port = await freePort();
    rows.push(await measure('nginx (1 worker)', () => startNginxProxy(peers.nginx, dir, port, backendPort, 1), `http://127.0.0.1:${port}/`));
    const hp = await freePort();
    rows.push(await measure('haproxy (1 thread)', () => startHaproxy(peers.haproxy, dir, hp, backendPort, 'http', 1), `http://127.0.0.1:${hp}/`));
    const np = await freePort();
    rows.push(await measure('node-http-proxy', () => startNodeHttpProxy(dir, np, backendPort), `http://127.0.0.1:${np}/`));
    printTable('L7 throughput (requests/s at saturation, small response)', rows);
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
    const pki = makePki(dir);
    const rate = { rps: 1000, seconds, connections: 16, bodyBytes: 1024 };
    const direct = await constantRate(`${backend}/echo`, rate);
    const results: Array<{ name: string; r: typeof direct; cpu?: number; peak?: number }> = [{ name: 'direct', r: direct }];
    for (const mtls of [true, false]) {
      const serverPort = await freePort();
      const clientPort = await freePort();
      const label = mtls ? 'two sidecars, mTLS' : 'two sidecars, plaintext';
      try {
        const server = await startSailfin(dir, `server-${mtls}`, serverSidecarBootstrap(serverPort, await freePort(), backendPort, mtls ? pki : undefined), serverPort);
        const client = await startSailfin(dir, `client-${mtls}`, clientSidecarBootstrap(clientPort, await freePort(), serverPort, mtls ? pki : undefined), clientPort);
        const pids = [...processTree(client.pid!), ...processTree(server.pid!)];
        const cpu0 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
        const r = await constantRate(`http://127.0.0.1:${clientPort}/echo`, rate);
        const cpu = (pids.reduce((a, p) => a + cpuSeconds(p), 0) - cpu0) / 2; // per sidecar
        const peak = Math.max(...pids.map((p) => memoryMb(p).peak));
        results.push({ name: label, r, cpu: cpu / (rate.seconds + 1), peak });
        await stopProcess(client);
        await stopProcess(server);
      } catch (err) {
        console.log(`${label}: failed: ${(err as Error).message}`);
      }
    }
    console.log('\n## Latency at a constant 1,000 req/s, 1 KB bodies (ms; open-loop, corrected for coordinated omission)');
    for (const { name, r } of results) {
      const added = name === 'direct' ? '' : `  added p50 ${fmt(r.p50 - direct.p50)} p90 ${fmt(r.p90 - direct.p90)} p99 ${fmt(r.p99 - direct.p99)}`;
      console.log(`${name.padEnd(24)} p50 ${fmt(r.p50)}  p90 ${fmt(r.p90)}  p99 ${fmt(r.p99)}  max ${fmt(r.max)}  failed ${r.failed}/${r.sent}${added}`);
    }
    const m = results.find((x) => x.name === 'two sidecars, mTLS');
    if (m) {
      verdicts.push(verdict('added p90 <= 0.3 ms (mTLS, two sidecars)', m.r.p90 - direct.p90 <= 0.3, `${fmt(m.r.p90 - direct.p90)} ms`));
      verdicts.push(verdict('added p99 <= 0.5 ms (mTLS, two sidecars)', m.r.p99 - direct.p99 <= 0.5, `${fmt(m.r.p99 - direct.p99)} ms`));
      console.log(`\n## Cost per sidecar at 1,000 req/s (mTLS)\nCPU ${fmt(m.cpu!)} vCPU, peak RSS ${fmt(m.peak!)} MB`);
      verdicts.push(verdict('<= 0.2 vCPU per 1,000 rps', m.cpu! <= 0.2, `${fmt(m.cpu!)} vCPU`));
      verdicts.push(verdict('<= 60 MB per 1,000 rps', m.peak! <= 60, `${fmt(m.peak!)} MB`));
    }
    if (runs('cost')) {
      const port = await freePort();
      try {
        const p = await startSailfin(dir, 'mesh1000', largeMeshBootstrap(port, await freePort(), 1000), port);
        await new Promise((r) => setTimeout(r, 2000));
        const rss = processTree(p.pid!).reduce((a, pid) => a + memoryMb(pid).rss, 0);
        console.log(`Idle RSS with a 1,000-service config: ${fmt(rss)} MB`);
        verdicts.push(verdict('idle RSS <= 60 MB with 1,000 services', rss <= 60, `${fmt(rss)} MB`));
        await stopProcess(p);
      } catch (err) {
        console.log(`idle RSS: failed: ${(err as Error).message}`);
      }
    }
  }
  console.log(`\n## Targets (issue 8)\n${verdicts.join('\n')}`);
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
