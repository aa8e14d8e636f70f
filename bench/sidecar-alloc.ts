/**
 * Load-independent cost of a sidecar pair at 1,000 req/s (issue 8): bytes the JavaScript heap
 * allocates per request and CPU per request, for each sidecar, bare (HCM + TLS) and Istio-like (what
 * Pilot generates: peer metadata, istio.stats, access log, inbound chains). On a shared 2-core machine
 * latency mostly measures the neighbours; allocations per request do not depend on them at all, and
 * CPU per request much less than wall time, so before/after work on the request path is judged here.
 *
 *   node dist/bench/sidecar-alloc.js [--seconds 10] [--rounds 2] [--only bare,istio]
 *
 * Allocation is read from V8's own accounting (`--trace-gc-nvp` prints, per GC, the bytes allocated
 * since the previous one), CPU from /proc. SAILFIN_BENCH_NODE_FLAGS adds Node flags (e.g. --cpu-prof),
 * SAILFIN_BENCH_BIN runs another build's bin/sailfin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { constantRate } from './constant-rate.js';
import { meshSidecarBootstraps } from './mesh-sidecar-configs.js';
import { makePki } from './pki.js';
import { cpuSeconds, freePort, memoryMb, stopProcess, waitForPort } from './processes.js';
import { clientSidecarBootstrap, serverSidecarBootstrap } from './sailfin-configs.js';
import { benchNodeFlags, SAILFIN } from './sailfin-process.js';
const RATE = { rps: 1000, connections: 16, bodyBytes: 1024 };

interface Sidecar {
  name: string;
  proc: ChildProcess;
  gcLog: string;
}

interface Pair {
  name: string;
  url: string;
  host?: string;
  sidecars: Sidecar[];
}

const started: ChildProcess[] = [];

async function startSidecar(dir: string, name: string, bootstrap: object, host: string, port: number): Promise<Sidecar> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(bootstrap));
  const gcLog = join(dir, `${name}.gc`);
  const out = openSync(gcLog, 'w');
  // The access log goes to stdout too; only the GC lines are read back.
  const proc = spawn(process.execPath, ['--trace-gc-nvp', ...benchNodeFlags(), SAILFIN, 'proxy', '--config', file], { stdio: ['ignore', out, 'inherit'], env: { ...process.env, SAILFIN_LOG_LEVEL: 'warn' } });
  started.push(proc);
  await waitForPort(port, 30_000, host);
  return { name, proc, gcLog };
}

/** Bytes allocated, scavenges and their pauses from the GC lines after `fromLine`. */
function gcSince(file: string, fromLine: number): { lines: number; allocated: number; scavenges: number; pauseMs: number; maxPauseMs: number } {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.includes(' pause='));
  let allocated = 0;
  let scavenges = 0;
  let pauseMs = 0;
  let maxPauseMs = 0;
  for (const l of lines.slice(fromLine)) {
    allocated += Number(/ allocated=(\d+)/.exec(l)?.[1] ?? 0);
    const pause = Number(/pause=([\d.]+)/.exec(l)?.[1] ?? 0);
    scavenges++; // scavenges, and the rare mark-compact
    pauseMs += pause;
    maxPauseMs = Math.max(maxPauseMs, pause);
  }
  return { lines: lines.length, allocated, scavenges, pauseMs, maxPauseMs };
}

function backend(): Promise<{ server: http.Server; port: number }> {
  const body = Buffer.from('ok');
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(body));
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

async function main(): Promise<void> {
  const arg = (name: string, dflt: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const seconds = Number(arg('seconds', '10'));
  const rounds = Number(arg('rounds', '2'));
  const only = arg('only', 'bare,istio').split(',');
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-alloc-'));
  const { server, port: backendPort } = await backend();
  try {
    const pki = makePki(dir);
    const pairs: Pair[] = [];
    if (only.includes('bare')) {
      const sp = await freePort();
      const cp = await freePort();
      const s = await startSidecar(dir, 'bare-server', serverSidecarBootstrap(sp, await freePort(), backendPort, pki), '127.0.0.1', sp);
      const c = await startSidecar(dir, 'bare-client', clientSidecarBootstrap(cp, await freePort(), sp, pki), '127.0.0.1', cp);
      pairs.push({ name: 'bare (HCM + mTLS)', url: `http://127.0.0.1:${cp}/echo`, sidecars: [c, s] });
    }
    if (only.includes('istio')) {
      const m = await meshSidecarBootstraps(dir, backendPort, [await freePort(), await freePort()], pki);
      const s = await startSidecar(dir, 'istio-server', m.server, m.serverHost, m.serverPort);
      const c = await startSidecar(dir, 'istio-client', m.client, m.proxyHost, m.proxyPort);
      pairs.push({ name: 'Istio-like (Pilot-generated)', url: `http://${m.proxyHost}:${m.proxyPort}/echo`, host: m.host, sidecars: [c, s] });
    }
    // Warm-up: the first thousands of requests run in V8's interpreter.
    for (const p of pairs) await constantRate(p.url, { ...RATE, seconds: 3, host: p.host });
    console.log(`# sidecar cost at ${RATE.rps} req/s, ${RATE.bodyBytes} B bodies, ${RATE.connections} connections; ${rounds} rounds of ${seconds} s; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    for (let round = 0; round < rounds; round++) {
      for (const p of pairs) {
        const before = p.sidecars.map((s) => ({ cpu: cpuSeconds(s.proc.pid!), gc: gcSince(s.gcLog, 0).lines }));
        const r = await constantRate(p.url, { ...RATE, seconds, warmupSeconds: 0, host: p.host });
        // Let the last responses' work finish before reading the counters.
        await new Promise((res) => setTimeout(res, 200));
        const cells = p.sidecars.map((s, i) => {
          const cpu = cpuSeconds(s.proc.pid!) - before[i].cpu;
          const gc = gcSince(s.gcLog, before[i].gc);
          const meanPause = gc.scavenges ? gc.pauseMs / gc.scavenges : 0;
          return `${s.name}: ${((cpu * 1e6) / r.sent).toFixed(0)} µs CPU/req, ${(gc.allocated / r.sent / 1024).toFixed(1)} KB alloc/req, ${((gc.scavenges * 10000) / r.sent).toFixed(1)} GCs/10k req (pause mean ${meanPause.toFixed(2)} max ${gc.maxPauseMs.toFixed(1)} ms, ${((gc.pauseMs * 1000) / r.sent).toFixed(1)} µs/req), peak RSS ${memoryMb(s.proc.pid!).peak.toFixed(0)} MB`;
        });
        console.log(`${p.name.padEnd(30)} round ${round + 1}: p50 ${r.p50.toFixed(2)} p90 ${r.p90.toFixed(2)} p99 ${r.p99.toFixed(2)} ms, ${r.sent} req, ${r.failed} failed, load ${loadavg()[0].toFixed(1)}\n  ${cells.join('\n  ')}`);
      }
    }
  } finally {
    await Promise.all(started.map(stopProcess));
    server.close();
    if (!process.env.SAILFIN_BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

process.on('exit', () => {
  for (const p of started) p.kill('SIGKILL');
});
await main();
