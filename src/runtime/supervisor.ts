/**
 * Runs one container of a local pod as the kubelet would: its `command`/`args`/`env` (the image is
 * ignored: the command runs from this machine), inside the pod's network namespace and optionally as
 * another user, output appended to a log file, restarted with the kubelet's exponential back-off
 * (10 s doubling to 5 min, reset after 10 min of running), a readiness probe, and a status that reads
 * like `kubectl get pods` (Running, CrashLoopBackOff, restart count, last exit code).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { inNetns, systemTool } from './exec.js';
import { processStartTime, type NetworkState } from './network-state.js';
import { ProbeLoop, type ProbeResult, type ProbeSpec } from './probe.js';

export interface ContainerSpec {
  name: string;
  /** The manifest's `command` (required locally: there is no image entrypoint). */
  command: string[];
  args?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  readinessProbe?: ProbeSpec;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** A run at least this long resets the back-off (the kubelet's 10 minutes). */
  resetAfterMs: number;
}

export const KUBELET_BACKOFF: BackoffOptions = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

export interface SupervisorOptions {
  netns?: string;
  /** Run as this UID/GID (through setpriv, after entering the namespace). */
  uid?: number;
  gid?: number;
  /** The container's output goes to `<logDir>/<name>.log`. */
  logDir: string;
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  backoff?: BackoffOptions;
  /** SIGTERM, then SIGKILL after this long (default 5 s). */
  gracePeriodMs?: number;
  /** Processes are recorded here so a killed `sailfin up` does not leave them running. */
  state?: NetworkState;
  /** Environment every container gets before its own (PATH, HOSTNAME, …). */
  baseEnv?: Record<string, string>;
  onReadyChange?: (ready: boolean, result: ProbeResult) => void;
}

export type ContainerState = 'Waiting' | 'Running' | 'CrashLoopBackOff' | 'Completed' | 'Error' | 'Stopped';

export interface ContainerStatus {
  name: string;
  state: ContainerState;
  ready: boolean;
  restartCount: number;
  pid?: number;
  lastExitCode?: number;
  lastSignal?: string;
  /** Why it is not running now, for people (`command not found: …`, `exited with code 3`). */
  message?: string;
  /** How the previous run ended (kept while the restarted container runs, like Kubernetes' lastState). */
  lastTermination?: string;
  logFile: string;
}

/** The executable `cmd` resolves to on PATH, or undefined (reported instead of a cryptic exec failure). */
export function findExecutable(cmd: string, path: string, cwd = process.cwd()): string | undefined {
  const candidates = cmd.includes('/') ? [isAbsolute(cmd) ? cmd : join(cwd, cmd)] : path.split(delimiter).filter(Boolean).map((d) => join(d, cmd));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next directory
    }
  }
  return undefined;
}

export class ContainerSupervisor {
  readonly logFile: string;
  private child?: ChildProcess;
  private childStart = 0;
  private restartTimer?: NodeJS.Timeout;
  private backoffMs = 0;
  private stopped = true;
  private readonly probe?: ProbeLoop;
  private status: ContainerStatus;
  private readonly exitWaiters: Array<() => void> = [];

  constructor(
    readonly spec: ContainerSpec,
    private readonly opts: SupervisorOptions,
  ) {
    mkdirSync(opts.logDir, { recursive: true });
    this.logFile = join(opts.logDir, `${spec.name}.log`);
    this.status = { name: spec.name, state: 'Waiting', ready: false, restartCount: 0, logFile: this.logFile };
    if (spec.readinessProbe) {
      this.probe = new ProbeLoop(spec.readinessProbe, { netns: opts.netns, userPrefix: this.userPrefix(), env: this.env() }, (ready, result) => {
        this.status.ready = ready;
        opts.onReadyChange?.(ready, result);
      });
    }
  }

  /** Starts the container (and keeps restarting it per the restart policy until stop()). */
  start(): void {
    this.stopped = false;
    this.launch();
  }

  getStatus(): ContainerStatus {
    // Without a probe, a running container is ready (the kubelet's rule).
    const ready = this.probe ? this.status.ready : this.status.state === 'Running';
    return { ...this.status, ready };
  }

  /** Stops for good: SIGTERM to the container's process group, SIGKILL after the grace period. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.probe?.stop();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
      this.signal(child, 'SIGTERM');
      const kill = setTimeout(() => this.signal(child, 'SIGKILL'), this.opts.gracePeriodMs ?? 5000);
      await exited;
      clearTimeout(kill);
    }
    this.status.state = 'Stopped';
  }

  private signal(child: ChildProcess, sig: NodeJS.Signals): void {
    try {
      process.kill(-child.pid!, sig); // the whole group: shells and their children too
    } catch {
      child.kill(sig);
    }
  }

  private env(): Record<string, string> {
    const base = this.opts.baseEnv ?? { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
    return { ...base, ...(this.spec.env ?? {}) };
  }

  private userPrefix(): string[] {
    const { uid, gid } = this.opts;
    if (uid === undefined) return [];
    return [systemTool('setpriv'), `--reuid=${uid}`, `--regid=${gid ?? uid}`, '--clear-groups'];
  }

  private launch(): void {
    if (this.stopped) return;
    const env = this.env();
    const argv = [...this.spec.command, ...(this.spec.args ?? [])];
    const cwd = this.spec.workingDir ?? process.cwd();
    const exe = argv.length ? findExecutable(argv[0], env.PATH ?? '', cwd) : undefined;
    if (!exe) {
      const what = argv.length ? `command not found: "${argv[0]}" is not an executable on PATH (${env.PATH ?? ''})` : 'the container has no command (locally the image is ignored, so `command` is required)';
      this.crashed(undefined, undefined, `${what}; the image is ignored locally, so the command must exist on this machine`);
      return;
    }
    const full = inNetns(this.opts.netns, [...this.userPrefix(), exe, ...argv.slice(1)]);
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(full[0], full.slice(1), { cwd, env, stdio: ['ignore', log, log], detached: true });
    } finally {
      closeSync(log);
    }
    this.child = child;
    this.childStart = Date.now();
    let ended = false; // 'error' and 'exit' can both fire for one failed spawn
    child.on('error', (err) => {
      if (ended) return;
      ended = true;
      for (const w of this.exitWaiters.splice(0)) w();
      this.crashed(undefined, undefined, `cannot start: ${err.message}`);
    });
    if (child.pid !== undefined) {
      this.opts.state?.add({ kind: 'process', pid: child.pid, startTime: processStartTime(child.pid) });
      this.status = { ...this.status, state: 'Running', pid: child.pid, message: undefined };
      this.probe?.start();
    }
    child.on('exit', (code, signal) => {
      if (ended) return;
      ended = true;
      if (child.pid !== undefined) this.opts.state?.remove({ kind: 'process', pid: child.pid, startTime: '' });
      this.probe?.stop();
      for (const w of this.exitWaiters.splice(0)) w();
      if (this.stopped) {
        this.status = { ...this.status, pid: undefined, lastExitCode: code ?? undefined, lastSignal: signal ?? undefined };
        return;
      }
      const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
      this.crashed(code ?? undefined, signal ?? undefined, why);
    });
  }

  /** The container ended (or could not start): record it and schedule the restart the policy asks for. */
  private crashed(code: number | undefined, signal: string | undefined, message: string): void {
    if (this.stopped) return;
    const policy = this.opts.restartPolicy ?? 'Always';
    const succeeded = code === 0;
    this.status = { ...this.status, pid: undefined, lastExitCode: code, lastSignal: signal, message, lastTermination: message };
    if (policy === 'Never' || (policy === 'OnFailure' && succeeded)) {
      this.status.state = succeeded ? 'Completed' : 'Error';
      return;
    }
    const b = this.opts.backoff ?? KUBELET_BACKOFF;
    const ranFor = this.childStart ? Date.now() - this.childStart : 0;
    this.backoffMs = ranFor >= b.resetAfterMs || this.backoffMs === 0 ? b.initialMs : Math.min(this.backoffMs * 2, b.maxMs);
    this.childStart = 0;
    this.status.state = 'CrashLoopBackOff';
    this.restartTimer = setTimeout(() => {
      this.status.restartCount++;
      this.launch();
    }, this.backoffMs);
  }
}
