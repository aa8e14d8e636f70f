/**
 * Control-plane scale benchmark (issue 4, "Scale"): a mesh of 1,000 Services and 5,000 pods, 200 sidecars
 * connected over ADS (AdsClients in two other processes), then the time from a manifest write until every
 * proxy has ACKed the new version, for a config change (one VirtualService) and an endpoint change (one
 * Deployment scaled), with the control plane's CPU time and memory. Targets: < 1 s, < 500 MB.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/control-plane.js [--services N --replicas R --proxies P --full-clients]
 *   node --cpu-prof --cpu-prof-dir=/tmp/cp-prof dist/bench/control-plane.js   (profile the control plane)
 *   npm run bench -- --only cp
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ControlPlane } from '../src/discovery/control-plane.js';
import { sidecarNodeId } from '../src/pilot/proxy-info.js';
import { TypeUrl, type XdsTypeUrl } from '../src/xds/protos.js';
import type { AdsServer } from '../src/xds/server.js';
import { cpuSeconds } from './processes.js';
import { CHANGED, FULL_SCALE, deploymentFile, deploymentYaml, virtualServiceYaml, vsFile, writeMesh, type MeshShape } from './control-plane-mesh.js';

export interface ControlPlaneBenchOptions {
  shape?: MeshShape;
  proxies?: number;
  clientProcesses?: number;
  /** `light` (default): ACK route tables and endpoints unread; `full`: the proxy's AdsClient, decoding everything. */
  clients?: 'light' | 'full';
  /** Give up on a phase after this long. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface PhaseResult {
  /** From the file write until every proxy ACKed the new version (reload + 100 ms debounce included). */
  ms: number;
  /** The control plane's CPU time over that window (this process: clients run elsewhere). */
  cpuMs: number;
  /** The client processes' CPU time over that window (they share the machine's cores with the control plane). */
  clientCpuMs: number;
}

export interface ControlPlaneBenchResult {
  clients: 'light' | 'full';
  proxies: number;
  services: number;
  pods: number;
  initialSync: PhaseResult;
  configPush: PhaseResult;
  endpointPush: PhaseResult;
  rssMb: number;
  heapMb: number;
  heapTotalMb: number;
  /** Buffers outside the JS heap (encoded resources, gRPC write buffers). */
  externalMb: number;
}

const PHASE_TYPES = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration] as const;

/** Every proxy connected, subscribed to the four types, and ACKing what it was last sent. */
function synced(ads: AdsServer, proxies: number): boolean {
  const conns = ads.connections();
  if (conns.length < proxies) return false;
  return conns.every((c) =>
    PHASE_TYPES.every((t) => {
      const w = c.watches.get(t);
      return !!w && !!w.sentVersion && w.ackedVersion === w.sentVersion && (t === TypeUrl.Cluster || t === TypeUrl.Listener || w.names.length > 0);
    }),
  );
}

function sentVersions(ads: AdsServer, type: XdsTypeUrl): Map<string, string | undefined> {
  return new Map(ads.connections().map((c) => [c.connectionId, c.watches.get(type)?.sentVersion]));
}

/** Every proxy was sent a new version of `type` after `before`, and everything it was sent is ACKed. */
function pushedAndAcked(ads: AdsServer, proxies: number, type: XdsTypeUrl, before: Map<string, string | undefined>): boolean {
  if (!synced(ads, proxies)) return false;
  return ads.connections().every((c) => c.watches.get(type)?.sentVersion !== before.get(c.connectionId));
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    // Every check walks 200 connections in the control plane's own process: poll gently.
    await new Promise((r) => setTimeout(r, 10));
  }
}

function clientsCpuMs(children: readonly ChildProcess[]): number {
  let s = 0;
  for (const c of children) {
    try {
      s += c.pid ? cpuSeconds(c.pid) : 0;
    } catch {
      // exited
    }
  }
  return s * 1000;
}

/** CP_BENCH_PROFILE=DIR writes one CPU profile of the control plane per phase (open in Chrome DevTools). */
async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  const dir = process.env.CP_BENCH_PROFILE;
  if (!dir) return run();
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: object };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

async function phase(what: string, change: () => void, done: () => boolean, timeoutMs: number, children: readonly ChildProcess[]): Promise<PhaseResult> {
  return profiled(what, () => measure(what, change, done, timeoutMs, children));
}

async function measure(what: string, change: () => void, done: () => boolean, timeoutMs: number, children: readonly ChildProcess[]): Promise<PhaseResult> {
  const cpu = process.cpuUsage();
  const clients = clientsCpuMs(children);
  const started = performance.now();
  change();
  await until(what, done, timeoutMs);
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, clientCpuMs: clientsCpuMs(children) - clients };
}

const envNumber = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);

export async function runControlPlaneBench(opts: ControlPlaneBenchOptions = {}): Promise<ControlPlaneBenchResult> {
  // CP_BENCH_SERVICES / _PROXIES / _CLIENTS size a run started through `npm run bench -- --only cp`.
  const shape = opts.shape ?? { ...FULL_SCALE, services: envNumber('CP_BENCH_SERVICES') ?? FULL_SCALE.services };
  const proxies = opts.proxies ?? envNumber('CP_BENCH_PROXIES') ?? 200;
  const clients = opts.clients ?? (process.env.CP_BENCH_CLIENTS === 'full' ? 'full' : 'light');
  const timeoutMs = opts.timeoutMs ?? Number(process.env.CP_BENCH_TIMEOUT_MS ?? 120_000);
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-cp-bench-'));
  const children: ChildProcess[] = [];
  let cp: ControlPlane | undefined;
  try {
    writeMesh(dir, shape);
    cp = new ControlPlane({ paths: [dir], host: '127.0.0.1', adsPort: 0, monitoringPort: 0, watch: true, logger: pino({ level: 'silent' }), podCidr: '10.96.0.0/12' });
    const loadCpu = process.cpuUsage();
    await cp.start();
    const ads = cp.ads!;
    const pods = cp.registry.allPods();
    log(`control plane up: ${cp.registry.services().length} services, ${pods.length} pods (load ${((process.cpuUsage(loadCpu).user + process.cpuUsage(loadCpu).system) / 1000).toFixed(0)} ms CPU)`);
    // Sidecars of real pods, spread over every namespace.
    const step = Math.max(1, Math.floor(pods.length / proxies));
    const nodes = Array.from({ length: proxies }, (_, k) => pods[(k * step) % pods.length]).map((p) => ({
      id: sidecarNodeId(p.address, p.name, p.namespace),
      metadata: { NAMESPACE: p.namespace, NAME: p.name, LABELS: { ...p.labels }, SERVICE_ACCOUNT: p.serviceAccountName ?? "default" },
    }));
    const processes = opts.clientProcesses ?? 2;
    const clientScript = fileURLToPath(new URL('./control-plane-clients.js', import.meta.url));
    const initialSync = await phase(
      `${proxies} proxies to sync`,
      () => {
        for (let k = 0; k < processes; k++) {
          const child = spawn(process.execPath, [clientScript, `127.0.0.1:${cp!.adsPort}`, clients], { stdio: ['pipe', 'inherit', 'inherit'] });
          children.push(child);
          for (let n = k; n < nodes.length; n += processes) child.stdin!.write(`${JSON.stringify(nodes[n])}\n`);
        }
      },
      () => synced(ads, proxies),
      timeoutMs,
      children,
    ).catch((err: unknown) => {
      const c = ads.connections().find((x) => !PHASE_TYPES.every((t) => x.watches.get(t)?.ackedVersion && x.watches.get(t)?.ackedVersion === x.watches.get(t)?.sentVersion));
      const state = c ? [...c.watches.values()].map((w) => `${w.typeUrl.split('.').pop()} names=${w.names.length} sent=${w.sentVersion} acked=${w.ackedVersion} nack=${w.lastNack?.message ?? ""}`).join('; ') : 'none';
      throw new Error(`${(err as Error).message} (${ads.connections().length} connected; first unsynced: ${c?.id} ${state})`);
    });
    log(`initial sync: ${proxies} proxies in ${initialSync.ms.toFixed(0)} ms (control plane CPU ${initialSync.cpuMs.toFixed(0)} ms)`);
    await new Promise((r) => setTimeout(r, 500));

    let before = sentVersions(ads, TypeUrl.RouteConfiguration);
    const configPush = await phase(
      'the VirtualService change to be ACKed',
      () => writeFileSync(vsFile(dir), virtualServiceYaml(shape, CHANGED, 10)),
      () => pushedAndAcked(ads, proxies, TypeUrl.RouteConfiguration, before),
      timeoutMs,
      children,
    );
    log(`config push (VirtualService weight change): all ${proxies} ACKed in ${configPush.ms.toFixed(0)} ms, control plane CPU ${configPush.cpuMs.toFixed(0)} ms`);
    await new Promise((r) => setTimeout(r, 500));

    before = sentVersions(ads, TypeUrl.ClusterLoadAssignment);
    const endpointPush = await phase(
      'the endpoint change to be ACKed',
      () => writeFileSync(deploymentFile(dir), deploymentYaml(shape, CHANGED, shape.replicas + 1)),
      () => pushedAndAcked(ads, proxies, TypeUrl.ClusterLoadAssignment, before),
      timeoutMs,
      children,
    );
    log(`endpoint push (Deployment scaled ${shape.replicas} → ${shape.replicas + 1}): all ${proxies} ACKed in ${endpointPush.ms.toFixed(0)} ms, control plane CPU ${endpointPush.cpuMs.toFixed(0)} ms`);
    const mem = process.memoryUsage();
    return {
      clients,
      proxies,
      services: cp.registry.services().length,
      pods: pods.length,
      initialSync,
      configPush,
      endpointPush,
      rssMb: mem.rss / 1e6,
      heapMb: mem.heapUsed / 1e6,
      heapTotalMb: mem.heapTotal / 1e6,
      externalMb: mem.external / 1e6,
    };
  } finally {
    for (const c of children) c.stdin?.end();
    await cp?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printControlPlaneReport(r: ControlPlaneBenchResult): string[] {
  const ok = (b: boolean) => (b ? 'PASS' : 'MISS');
  const lines = [
    `\n## Control plane at scale: ${r.services} services, ${r.pods} pods, ${r.proxies} ADS proxies (${r.clients} clients), load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    `initial sync         ${r.initialSync.ms.toFixed(0).padStart(7)} ms   (control plane CPU ${r.initialSync.cpuMs.toFixed(0)} ms, clients CPU ${r.initialSync.clientCpuMs.toFixed(0)} ms)`,
    `config push → ACKs   ${r.configPush.ms.toFixed(0).padStart(7)} ms   (control plane CPU ${r.configPush.cpuMs.toFixed(0)} ms, clients CPU ${r.configPush.clientCpuMs.toFixed(0)} ms)`,
    `endpoint push → ACKs ${r.endpointPush.ms.toFixed(0).padStart(7)} ms   (control plane CPU ${r.endpointPush.cpuMs.toFixed(0)} ms, clients CPU ${r.endpointPush.clientCpuMs.toFixed(0)} ms)`,
    `control plane RSS    ${r.rssMb.toFixed(0).padStart(7)} MB   (heap ${r.heapMb.toFixed(0)} MB used of ${r.heapTotalMb.toFixed(0)} MB, external ${r.externalMb.toFixed(0)} MB)`,
  ];
  for (const l of lines) console.log(l);
  return [
    `${ok(r.configPush.ms < 1000)}  config change ACKed by all proxies < 1 s: ${r.configPush.ms.toFixed(0)} ms (CPU ${r.configPush.cpuMs.toFixed(0)} ms)`,
    `${ok(r.endpointPush.ms < 1000)}  endpoint change ACKed by all proxies < 1 s: ${r.endpointPush.ms.toFixed(0)} ms (CPU ${r.endpointPush.cpuMs.toFixed(0)} ms)`,
    `${ok(r.rssMb < 500)}  control plane memory < 500 MB: ${r.rssMb.toFixed(0)} MB`,
  ];
}

function argNumber(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const services = argNumber('--services') ?? envNumber('CP_BENCH_SERVICES') ?? FULL_SCALE.services;
  const shape: MeshShape = { ...FULL_SCALE, services, replicas: argNumber('--replicas') ?? FULL_SCALE.replicas };
  const clients = process.argv.includes('--full-clients') ? 'full' : undefined;
  const result = await runControlPlaneBench({ shape, proxies: argNumber('--proxies'), clients, log: (l) => console.log(`# ${l}`) });
  console.log(`\n${printControlPlaneReport(result).join("\n")}`);
  process.exit(0);
}
