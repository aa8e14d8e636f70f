/**
 * Drives a real local mesh for end-to-end tests: `sailfin up --detach` in netns mode (real namespaces,
 * iptables capture, sidecars, mTLS), requests through the exposed ingress gateway or from inside pods
 * with `sailfin exec`, config changes by writing files into a watched directory, and `sailfin down`.
 * These tests need root and the native addon; without them they are skipped with the reason.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readState, type MeshState } from '../../src/mesh/state.js';
import { isCaptureSupported } from '../../src/runtime/original-dst.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SAILFIN = join(ROOT, 'bin', 'sailfin');

export function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, iptables)';
  if (!isCaptureSupported().supported) return `capture unavailable: ${isCaptureSupported().reason}`;
  if (spawnSync('sh', ['-c', 'command -v iptables-restore && command -v curl']).status !== 0) return 'needs iptables and curl';
  return undefined;
}

export function sailfin(args: string[], timeoutMs = 60_000) {
  return spawnSync(process.execPath, [SAILFIN, ...args], { encoding: 'utf8', timeout: timeoutMs });
}

/**
 * Each test file's mesh gets its own bridge and pod network, so e2e files (and a developer's own mesh
 * on sf0 / 10.88.0.0/16) can run side by side.
 */
export class Mesh {
  readonly stateDir: string;
  readonly configDir = mkdtempSync(join(tmpdir(), 'sailfin-e2e-config-'));

  /** What `up` printed (its summary, notes and, in explicit mode, what the mode cannot do). */
  upOutput = '';

  constructor(
    readonly bridge: string,
    readonly podCidr: string,
    /** explicit: no namespaces or bridge (`bridge` only names the state directory); podCidr inside 127.0.0.0/8. */
    readonly mode: 'netns' | 'explicit' = 'netns',
  ) {
    // One state directory per bridge: a run that was killed before its `after` hook is stopped here.
    this.stateDir = join(tmpdir(), `sailfin-e2e-${bridge}`);
    sailfin(['down', '--state-dir', this.stateDir], 60_000);
  }
  state!: MeshState;

  /** Copies sample manifests into the watched directory. */
  add(...samplePaths: string[]): void {
    for (const p of samplePaths) copyFileSync(join(ROOT, p), join(this.configDir, p.replace(/[/]/g, '_')));
  }

  write(name: string, yaml: string): void {
    writeFileSync(join(this.configDir, name), yaml);
  }

  remove(name: string): void {
    rmSync(join(this.configDir, name), { force: true });
  }

  up(extraPaths: string[] = []): void {
    const network = this.mode === 'explicit' ? ['--mode', 'explicit'] : ['--bridge', this.bridge];
    const args = ['up', '--detach', '--state-dir', this.stateDir, '--xds-port', '0', '--monitoring-port', '0', '--ca-port', '0', '--ready-timeout', '240', ...network, '--pod-cidr', this.podCidr, '-f', this.configDir];
    for (const p of extraPaths) args.push('-f', join(ROOT, p));
    const r = sailfin(args, 300_000);
    if (r.status !== 0) throw new Error(`sailfin up failed (${r.status}): ${r.stdout}\n${r.stderr}`);
    this.upOutput = r.stdout;
    this.state = readState(this.stateDir)!;
  }

  refresh(): MeshState {
    this.state = readState(this.stateDir)!;
    return this.state;
  }

  /** The host port the ingress gateway's pod port is exposed on. */
  ingressPort(podPort = 8080): number {
    const e = this.state.exposed.find((x) => x.podPort === podPort);
    if (!e) throw new Error(`pod port ${podPort} is not exposed: ${JSON.stringify(this.state.exposed)}`);
    return e.hostPort;
  }

  /** curl from inside a pod (its traffic goes through that pod's sidecar, if it has one). */
  execCurl(pod: string, url: string, extra: string[] = [], namespace?: string): { code: string; body: string; exit: number | null } {
    const args = ['exec', pod, '--state-dir', this.stateDir, ...(namespace ? ['-n', namespace] : []), '--', 'curl', '-s', '-m', '10', '-w', '\n%{http_code}', ...extra, url];
    const r = sailfin(args, 20_000);
    const lines = (r.stdout ?? '').split('\n');
    return { code: lines.pop() ?? '', body: lines.join('\n'), exit: r.status };
  }

  down(): void {
    sailfin(['down', '--state-dir', this.stateDir], 60_000);
    rmSync(this.stateDir, { recursive: true, force: true });
    rmSync(this.configDir, { recursive: true, force: true });
  }
}

export async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 20_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function page(port: number, path = '/productpage', headers: Record<string, string> = {}): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers, signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: await res.text(), ms: Date.now() - started };
}

export function stars(body: string): 'none' | 'black' | 'red' {
  if (body.includes('color: red')) return 'red';
  if (body.includes('color: black')) return 'black';
  return 'none';
}
