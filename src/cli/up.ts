/**
 * `sailfin up -f PATH… [--mode auto|netns|explicit] [--detach]`: the whole mesh on this machine from
 * the manifests a user would apply to a cluster — control plane, every pod in its own network namespace
 * with its sidecar capturing its traffic (or, in explicit mode, on its own loopback address with the
 * sidecar as HTTP proxy), the gateways, and live reload as the files change.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { pino } from 'pino';
import { SailfinError } from '../common/errors.js';
import { LocalMesh } from '../mesh/local-mesh.js';
import { SAILFIN_BIN } from '../mesh/paths.js';
import { alive, readState, statePaths, type MeshState } from '../mesh/state.js';
import { EXPLICIT_MODE_LIMITS } from '../runtime/explicit-mode.js';
import { decideMode } from '../runtime/mode.js';
import { table } from './proxy-config/tables.js';
import { withStateDir } from './state-option.js';

interface UpOptions {
  filename: string[];
  mode: 'auto' | 'netns' | 'explicit';
  detach?: boolean;
  stateDir: string;
  xdsPort: number;
  monitoringPort: number;
  caPort: number;
  bridge?: string;
  podCidr?: string;
  readyTimeout: number;
}

export function summary(state: MeshState): string {
  const lines: string[] = [];
  lines.push(table(['NAMESPACE', 'POD', 'IP', 'PROXY', 'STATUS', 'READY'], state.pods.map((p) => [p.namespace, p.name, p.ip, p.sidecar ? 'sidecar' : p.gateway ? `${p.gateway} gateway` : 'none', p.phase, p.ready ? 'yes' : 'no'])));
  for (const e of state.exposed) lines.push(`${e.namespace}/${e.pod} port ${e.podPort} (${e.name}) is on http://127.0.0.1:${e.hostPort}/\n`);
  const http = state.exposed.find((e) => e.podPort === 8080 || e.name.startsWith('http'));
  if (http && state.services.some((s) => s.name === 'productpage')) lines.push(`\nBookinfo: http://127.0.0.1:${http.hostPort}/productpage\n`);
  for (const n of state.notes) lines.push(`note: ${n}\n`);
  if (state.mode === 'explicit') {
    lines.push(`\n${EXPLICIT_MODE_LIMITS.join('\n')}\n(see docs/local-mesh.md, "Explicit mode")\n\n`);
  }
  lines.push(`control plane: ADS on ${state.controlPlane.address}:${state.controlPlane.adsPort}, debug on http://127.0.0.1:${state.controlPlane.monitoringPort}/debug/syncz\n`);
  return lines.join('');
}

async function waitReady(dir: string, pid: number, timeoutMs: number): Promise<MeshState | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: MeshState | undefined;
  while (Date.now() < deadline) {
    last = readState(dir);
    if (last?.ready) return last;
    if (!alive(pid)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('up')
      .description('run the whole mesh on this machine from Kubernetes/Istio manifests, reloading them live')
      .requiredOption('-f, --filename <path>', 'manifest file or directory (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
      .option('--mode <mode>', 'netns (real capture, needs root), explicit (HTTP_PROXY, no capture, no root needed), or auto (netns where possible)', (v) => {
        if (v !== 'auto' && v !== 'netns' && v !== 'explicit') throw new InvalidArgumentError('must be auto, netns or explicit');
        return v;
      }, 'auto')
      .option('--detach', 'start in the background and return once every pod is ready')
      .option('--xds-port <port>', 'the control plane ADS port', (v) => Number(v), 15010)
      .option('--monitoring-port <port>', 'the control plane debug port', (v) => Number(v), 15014)
      .option('--ca-port <port>', "the mesh CA's TLS port (Istio's 15012)", (v) => Number(v), 15012)
      .option('--bridge <name>', 'name of the mesh bridge (default sf0)')
      .option('--pod-cidr <cidr>', 'pod addresses (default 10.88.0.0/16, explicit mode 127.1.0.0/16); give each mesh on one machine its own')
      .option('--ready-timeout <seconds>', 'how long to wait for pods to become ready', (v) => Number(v), 120),
  ).action(async (opts: UpOptions) => {
    // Throws, naming what is missing, when netns mode is asked for and cannot run.
    const decision = decideMode(opts.mode);
    const paths = statePaths(opts.stateDir);
    const running = readState(opts.stateDir);
    if (running && alive(running.pid)) throw new SailfinError('runtime', `a mesh is already running (pid ${running.pid}); stop it with "sailfin down" first`);

    if (opts.detach) {
      mkdirSync(opts.stateDir, { recursive: true });
      const out = openSync(paths.log, 'a');
      const args = process.argv.slice(2).filter((a) => a !== '--detach');
      const child = spawn(process.execPath, [SAILFIN_BIN, ...args], { detached: true, stdio: ['ignore', out, out], env: process.env });
      closeSync(out);
      child.unref();
      const state = await waitReady(opts.stateDir, child.pid!, opts.readyTimeout * 1000);
      if (!state || !alive(child.pid!)) throw new SailfinError('runtime', `the mesh did not start; see ${paths.log}`);
      process.stdout.write(summary(state));
      if (!state.ready) {
        process.stdout.write(`not every pod is ready after ${opts.readyTimeout} s; "sailfin get pods" shows which\n`);
        process.exitCode = 1;
      }
      return;
    }

    const logger = pino({ level: process.env.SAILFIN_LOG_LEVEL ?? 'warn' }, pino.destination(2));
    const mesh = new LocalMesh({ paths: opts.filename, stateDir: opts.stateDir, logger, xdsPort: opts.xdsPort, monitoringPort: opts.monitoringPort, caPort: opts.caPort, bridge: opts.bridge, podCidr: opts.podCidr, mode: decision.mode, modeReasons: decision.reasons });
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= mesh.stop().then(() => process.exit(0), () => process.exit(1));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    try {
      await mesh.start();
    } catch (err) {
      await mesh.stop().catch(() => undefined);
      throw err;
    }
    const state = await waitReady(opts.stateDir, process.pid, opts.readyTimeout * 1000);
    process.stdout.write(summary(state ?? mesh.snapshot()));
    process.stdout.write('the mesh is running; Ctrl-C (or "sailfin down") stops it and removes everything it made\n');
  });
}
