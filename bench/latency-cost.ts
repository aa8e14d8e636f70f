/**
 * The latency and cost parts of `npm run bench` (issue 8), Istio's method: a constant 1,000 req/s
 * with 1 KB bodies, direct to the backend and through two Sailfin sidecars, the added latency being
 * the difference at each percentile. Istio publishes its figures for sidecars with their default
 * telemetry, so the targets are judged on "Istio-like" sidecars: the config Sailfin's control plane
 * generates for a client and a server pod (mesh-sidecar-configs.ts: peer metadata exchange,
 * istio.stats, access log, inbound chains, auto mTLS with SPIFFE identities). The bare pairs (HCM
 * and router only, with mTLS and in plaintext) are measured next to them to show what that costs.
 * On a shared 2-core machine a single run mostly measures the neighbours, so the three targets are measured in interleaved rounds (the
 * order rotating each round) and each percentile is the median over the rounds; the load average
 * is printed with the figures. Cost is the sidecars' CPU seconds from /proc during the mTLS rounds,
 * their peak RSS, and the idle RSS of a proxy holding a 1,000-service config next to that of a bare
 * Node.js process (the floor no Node proxy goes below).
 */
import { loadavg } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { constantRate, type RateResult } from './constant-rate.js';
import { makePki } from './pki.js';
import { cpuSeconds, freePort, memoryMb, processTree, startProcess, stopProcess } from './processes.js';
import { fmt, verdict } from './report.js';
import { meshSidecarBootstraps } from './mesh-sidecar-configs.js';
import { clientSidecarBootstrap, largeMeshBootstrap, serverSidecarBootstrap } from './sailfin-configs.js';
import { startSailfin } from './sailfin-process.js';
import { xdsIdleRss } from './xds-idle.js';

const RATE = { rps: 1000, connections: 16, bodyBytes: 1024 };

interface Target {
  name: string;
  url: string;
  /** The Host header when the URL is a forward proxy's (the Istio-like client sidecar). */
  host?: string;
  pids: number[];
  results: RateResult[];
  /** CPU seconds per second of run, per sidecar, one per round. */
  vcpu: number[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

async function startPair(dir: string, backendPort: number, mtls: boolean, pki: ReturnType<typeof makePki>): Promise<{ procs: ChildProcess[]; port: number }> {
  const serverPort = await freePort();
  const clientPort = await freePort();
  const server = await startSailfin(dir, `server-${mtls}`, serverSidecarBootstrap(serverPort, await freePort(), backendPort, mtls ? pki : undefined), serverPort);
  const client = await startSailfin(dir, `client-${mtls}`, clientSidecarBootstrap(clientPort, await freePort(), serverPort, mtls ? pki : undefined), clientPort);
  return { procs: [client, server], port: clientPort };
}

/** Client and server sidecars as Pilot generates them for two pods (see mesh-sidecar-configs.ts). */
async function startIstioLikePair(dir: string, backendPort: number, pki: ReturnType<typeof makePki>): Promise<{ procs: ChildProcess[]; url: string; host: string }> {
  const m = await meshSidecarBootstraps(dir, backendPort, [await freePort(), await freePort()], pki);
  const server = await startSailfin(dir, 'istio-server', m.server, m.serverPort, 1, m.serverHost);
  const client = await startSailfin(dir, 'istio-client', m.client, m.proxyPort, 1, m.proxyHost);
  return { procs: [client, server], url: `http://${m.proxyHost}:${m.proxyPort}/echo`, host: m.host };
}

/** RSS of a process once it has started and settled, in MB. */
async function settledRss(pid: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 2000));
  return processTree(pid).reduce((a, p) => a + memoryMb(p).rss, 0);
}

export async function runLatencyAndCost(o: { dir: string; backendPort: number; seconds: number; rounds: number; latency: boolean; cost: boolean }): Promise<string[]> {
  const verdicts: string[] = [];
  const procs: ChildProcess[] = [];
  const loadBefore = load();
  try {
    const pki = makePki(o.dir);
    // Each pair joins `procs` as soon as it runs, so a later pair that fails to start does not leave it behind.
    const mtls = await startPair(o.dir, o.backendPort, true, pki);
    procs.push(...mtls.procs);
    const plain = await startPair(o.dir, o.backendPort, false, pki);
    procs.push(...plain.procs);
    const istio = await startIstioLikePair(o.dir, o.backendPort, pki);
    procs.push(...istio.procs);
    const pidsOf = (ps: ChildProcess[]): number[] => ps.flatMap((p) => processTree(p.pid!));
    const targets: Target[] = [
      { name: 'direct', url: `http://127.0.0.1:${o.backendPort}/echo`, pids: [], results: [], vcpu: [] },
      { name: 'Istio-like sidecars, mTLS', url: istio.url, host: istio.host, pids: pidsOf(istio.procs), results: [], vcpu: [] },
      { name: 'bare sidecars, mTLS', url: `http://127.0.0.1:${mtls.port}/echo`, pids: pidsOf(mtls.procs), results: [], vcpu: [] },
      { name: 'bare sidecars, plaintext', url: `http://127.0.0.1:${plain.port}/echo`, pids: pidsOf(plain.procs), results: [], vcpu: [] },
    ];
    // A discarded pass first: a freshly started proxy runs its first thousands of requests in V8's
    // interpreter, which made the first round's p99 seconds long on the loaded machine.
    for (const t of targets) await constantRate(t.url, { ...RATE, seconds: 2, host: t.host });
    const generatorCpu: number[] = [];
    for (let round = 0; round < o.rounds; round++) {
      for (let k = 0; k < targets.length; k++) {
        const t = targets[(k + round) % targets.length];
        const cpu0 = t.pids.reduce((a, p) => a + cpuSeconds(p), 0);
        const r = await constantRate(t.url, { ...RATE, seconds: o.seconds, host: t.host });
        // The warm-up second is load too: divide by the whole time the sidecars served.
        if (t.pids.length) t.vcpu.push((t.pids.reduce((a, p) => a + cpuSeconds(p), 0) - cpu0) / 2 / (o.seconds + 1));
        t.results.push(r);
        if (r.generatorCpu !== undefined) generatorCpu.push((r.generatorCpu * 1e6) / r.sent);
      }
    }
    const pick = (t: Target, f: (r: RateResult) => number): number => median(t.results.map(f));
    // The targets are judged on the Istio-like pair; the bare ones show what telemetry and listener structure cost.
    const [direct, m] = targets;
    if (o.latency) {
      console.log(`\n## Latency at a constant 1,000 req/s, 1 KB bodies (ms; open-loop, corrected for coordinated omission; median of ${o.rounds} interleaved rounds of ${o.seconds} s)`);
      console.log(`load average before ${loadBefore}, after ${load()} (2 cores); the generator used ${fmt(median(generatorCpu))} µs of CPU per request`);
      for (const t of targets) {
        const p = (f: (r: RateResult) => number): number => pick(t, f);
        const added = t === direct ? '' : `  added p50 ${fmt(p((r) => r.p50) - pick(direct, (r) => r.p50))} p90 ${fmt(p((r) => r.p90) - pick(direct, (r) => r.p90))} p99 ${fmt(p((r) => r.p99) - pick(direct, (r) => r.p99))}`;
        const failed = t.results.reduce((a, r) => a + r.failed, 0);
        const rounds = t.results.map((r) => fmt(r.p99)).join('/');
        console.log(`${t.name.padEnd(27)} p50 ${fmt(p((r) => r.p50))}  p90 ${fmt(p((r) => r.p90))}  p99 ${fmt(p((r) => r.p99))} (rounds ${rounds})  failed ${failed}${added}`);
      }
      const p90 = pick(m, (r) => r.p90) - pick(direct, (r) => r.p90);
      const p99 = pick(m, (r) => r.p99) - pick(direct, (r) => r.p99);
      verdicts.push(verdict('added p90 <= 0.3 ms (two Istio-like mTLS sidecars)', p90 <= 0.3, `${fmt(p90)} ms`));
      verdicts.push(verdict('added p99 <= 0.5 ms (two Istio-like mTLS sidecars)', p99 <= 0.5, `${fmt(p99)} ms`));
    }
    if (o.cost) {
      const vcpu = median(m.vcpu);
      const peakOf = (t: Target): number => Math.max(...t.pids.map((p) => memoryMb(p).peak));
      const peak = peakOf(m);
      console.log(`\n## Cost per sidecar at 1,000 req/s`);
      for (const t of targets.slice(1)) {
        const v = median(t.vcpu);
        console.log(`${t.name.padEnd(27)} CPU ${fmt(v)} vCPU (${fmt(v * 1000)} µs per request; rounds ${t.vcpu.map(fmt).join('/')}), peak RSS ${fmt(peakOf(t))} MB`);
      }
      verdicts.push(verdict('<= 0.2 vCPU per 1,000 rps (Istio-like sidecar)', vcpu <= 0.2, `${fmt(vcpu)} vCPU`));
      verdicts.push(verdict('<= 60 MB per 1,000 rps (Istio-like sidecar)', peak <= 60, `${fmt(peak)} MB`));
    }
  } finally {
    await Promise.all(procs.map(stopProcess));
  }
  if (o.cost) verdicts.push(...(await idleRss(o.dir)));
  return verdicts;
}

/** Idle RSS with a 1,000-service config, next to a bare Node.js process measured the same way. */
async function idleRss(dir: string): Promise<string[]> {
  const bare = startProcess(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { name: 'bare node' });
  const floor = await settledRss(bare.pid!);
  await stopProcess(bare);
  const port = await freePort();
  try {
    const p = await startSailfin(dir, 'mesh1000', largeMeshBootstrap(port, await freePort(), 1000), port);
    const rss = await settledRss(p.pid!);
    await stopProcess(p);
    console.log(`Idle RSS with a 1,000-service static config (1,000 clusters of 5 endpoints, 1,000 virtual hosts): ${fmt(rss)} MB; a bare \`node -e 'setInterval(()=>{},1e3)'\`: ${fmt(floor)} MB`);
    const out = [verdict('idle RSS <= 60 MB with 1,000 services (static config)', rss <= 60, `${fmt(rss)} MB (bare Node.js ${fmt(floor)} MB)`)];
    try {
      const x = xdsIdleRss(dir);
      if (x) {
        console.log(`Idle RSS of a sidecar fed over xDS by sailfin discovery with a 1,000-service mesh (${x.clusters} clusters, ${x.hosts} endpoints): ${fmt(x.rssMb)} MB (peak ${fmt(x.peakMb)} MB)`);
        out.push(verdict('idle RSS <= 60 MB with 1,000 services (over xDS)', x.rssMb <= 60, `${fmt(x.rssMb)} MB`));
      } else console.log('Idle RSS over xDS: skipped (needs root and unshare for a private network namespace)');
    } catch (err) {
      console.log(`idle RSS over xDS: failed: ${(err as Error).message}`);
    }
    return out;
  } catch (err) {
    console.log(`idle RSS: failed: ${(err as Error).message}`);
    return [];
  }
}
