/**
 * Where a running local mesh keeps what other `sailfin` commands need: its pid, the pods with their
 * network namespaces and addresses, the exposed gateway ports, and the control socket. One mesh per
 * state directory; a second `up` on the same directory is refused while the first is alive.
 */
import { mkdirSync, readFileSync, writeFileSync, renameSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SailfinError } from '../common/errors.js';

export interface PodState {
  name: string;
  namespace: string;
  ip: string;
  netns?: string;
  sidecar: boolean;
  gateway?: 'ingress' | 'egress';
  phase: 'Pending' | 'Running' | 'CrashLoopBackOff' | 'Failed' | 'Succeeded';
  ready: boolean;
  restarts: number;
  containers: string[];
  adminPort?: number;
  labels: Record<string, string>;
  message?: string;
  /** Explicit mode: the environment the pod's apps get (PORT, HTTP_PROXY…), which `sailfin exec` gives too. */
  env?: Record<string, string>;
}

export interface ServiceState {
  name: string;
  namespace: string;
  hostname: string;
  addresses: string[];
  ports: Array<{ port: number; name?: string; protocol: string }>;
}

export interface MeshState {
  pid: number;
  startedAt: string;
  mode: 'netns' | 'explicit';
  paths: string[];
  controlPlane: { adsPort: number; monitoringPort: number; address: string };
  exposed: Array<{ pod: string; namespace: string; podPort: number; hostPort: number; name: string }>;
  pods: PodState[];
  services: ServiceState[];
  ready: boolean;
  notes: string[];
}

export function defaultStateDir(): string {
  if (process.env.SAILFIN_STATE_DIR) return process.env.SAILFIN_STATE_DIR;
  const uid = process.getuid?.() ?? 0;
  return uid === 0 && existsSync('/run') ? '/run/sailfin' : join(tmpdir(), `sailfin-${uid}`);
}

export function statePaths(dir: string) {
  return { dir, state: join(dir, 'mesh.json'), pid: join(dir, 'up.pid'), log: join(dir, 'up.log'), socket: join(dir, 'control.sock'), logs: join(dir, 'logs') };
}

/** Where `sailfin apply`/`delete` record their changes for the running mesh to pick up. */
export function overlayDir(stateDir: string): string {
  return join(stateDir, 'applied');
}

export function writeState(dir: string, state: MeshState): void {
  mkdirSync(dir, { recursive: true });
  const p = statePaths(dir);
  // Written to a temporary name and renamed so readers never see half a file.
  writeFileSync(`${p.state}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${p.state}.tmp`, p.state);
}

export function readState(dir: string): MeshState | undefined {
  try {
    return JSON.parse(readFileSync(statePaths(dir).state, 'utf8')) as MeshState;
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running mesh of this state directory, or a clear error saying none runs. */
export function runningMesh(dir: string): MeshState {
  const state = readState(dir);
  if (!state || !alive(state.pid)) {
    throw new SailfinError('runtime', `no mesh is running (state directory ${dir}); start one with "sailfin up -f PATH"`);
  }
  return state;
}

/** Claims the state directory for this process, refusing if another live mesh holds it. */
export function claimStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const p = statePaths(dir);
  if (existsSync(p.pid)) {
    const pid = Number(readFileSync(p.pid, 'utf8').trim());
    if (pid && pid !== process.pid && alive(pid)) {
      throw new SailfinError('runtime', `a mesh is already running (pid ${pid}, state directory ${dir}); stop it with "sailfin down" first`);
    }
  }
  writeFileSync(p.pid, String(process.pid));
}

export function releaseStateDir(dir: string): void {
  const p = statePaths(dir);
  for (const f of [p.pid, p.state, p.socket]) rmSync(f, { force: true });
}

export function findPod(state: MeshState, name: string, namespace?: string): PodState {
  // `name.ns` is accepted as istioctl accepts it.
  let ns = namespace;
  let pod = name;
  if (!ns && name.includes('.')) {
    const dot = name.lastIndexOf('.');
    pod = name.slice(0, dot);
    ns = name.slice(dot + 1);
  }
  const matches = state.pods.filter((p) => (p.name === pod || p.name.startsWith(`${pod}-`)) && (!ns || p.namespace === ns));
  const exact = matches.find((p) => p.name === pod);
  if (exact) return exact;
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) throw new SailfinError('runtime', `"${name}" matches several pods: ${matches.map((p) => `${p.name}.${p.namespace}`).join(', ')}`);
  throw new SailfinError('runtime', `pod "${name}"${ns ? ` in namespace ${ns}` : ''} not found; "sailfin get pods" lists them`);
}
