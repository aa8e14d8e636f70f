/**
 * Kubernetes readiness probes for local pods: httpGet, tcpSocket and exec, with the kubelet's timing
 * (initialDelaySeconds, periodSeconds, timeoutSeconds, successThreshold, failureThreshold) and
 * defaults. Checks run inside the pod's network namespace: network checks go to 127.0.0.1 there (the
 * app's own loopback, which capture leaves alone, as Istio's probe rewrite to the agent achieves),
 * through a one-shot `ip netns exec … node probe-runner.js`.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inNetns } from './exec.js';

export interface HttpGetAction {
  path?: string;
  port: number;
  host?: string;
  scheme?: 'HTTP' | 'HTTPS';
  httpHeaders?: Array<{ name: string; value: string }>;
}

export interface ProbeSpec {
  httpGet?: HttpGetAction;
  tcpSocket?: { port: number; host?: string };
  exec?: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface ProbeResult {
  ok: boolean;
  message: string;
}

/** One network check from this process (the probe runner calls it inside the namespace). */
export function checkNetwork(probe: ProbeSpec, timeoutMs: number): Promise<ProbeResult> {
  if (probe.tcpSocket) {
    const host = probe.tcpSocket.host ?? '127.0.0.1';
    const port = probe.tcpSocket.port;
    return new Promise((resolve) => {
      const s = connect({ host, port, timeout: timeoutMs });
      s.once('connect', () => {
        s.destroy();
        resolve({ ok: true, message: `tcp ${host}:${port} connected` });
      });
      s.once('timeout', () => {
        s.destroy();
        resolve({ ok: false, message: `tcp ${host}:${port}: timeout` });
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, message: `tcp ${host}:${port}: ${e.code ?? e.message}` }));
    });
  }
  const g = probe.httpGet!;
  const https = g.scheme === 'HTTPS';
  const host = g.host ?? '127.0.0.1';
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/sailfin', accept: '*/*' };
  for (const h of g.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  const where = `${https ? 'https' : 'http'}://${host}:${g.port}${g.path ?? '/'}`;
  return new Promise((resolve) => {
    const req = (https ? httpsRequest : httpRequest)(
      { host, port: g.port, path: g.path ?? '/', method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        // The kubelet counts 200-399 as success.
        resolve({ ok: code >= 200 && code < 400, message: `GET ${where}: ${code}` });
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, message: `GET ${where}: ${e.code ?? e.message}` }));
    req.end();
  });
}

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), 'probe-runner.js');

export interface ProbeContext {
  netns?: string;
  /** argv prefix that switches user (setpriv …) for exec probes, as the container runs. */
  userPrefix?: string[];
  env?: Record<string, string>;
}

/** Runs `argv` and reports exit 0 as success (exec probes, and the network runner in a namespace). */
function runCheck(argv: string[], ctx: ProbeContext, timeoutMs: number, label: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: ctx.env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, message: `${label}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tail = out.trim().split('\n').pop() ?? '';
      if (signal === 'SIGKILL') resolve({ ok: false, message: `${label}: timed out after ${timeoutMs} ms` });
      else resolve({ ok: code === 0, message: tail || `${label}: exit ${code}` });
    });
  });
}

/** One check of `probe`, in the pod's namespace when it has one. */
export function checkOnce(probe: ProbeSpec, ctx: ProbeContext = {}): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) {
    const argv = inNetns(ctx.netns, [...(ctx.userPrefix ?? []), ...probe.exec.command]);
    return runCheck(argv, ctx, timeoutMs, `exec ${probe.exec.command.join(' ')}`);
  }
  if (!probe.httpGet && !probe.tcpSocket) return Promise.resolve({ ok: false, message: 'probe has no httpGet, tcpSocket or exec' });
  if (!ctx.netns) return checkNetwork(probe, timeoutMs);
  // Node's start-up is added to the budget: the check's own timeout applies inside the runner.
  const argv = inNetns(ctx.netns, [process.execPath, RUNNER, JSON.stringify(probe), String(timeoutMs)]);
  return runCheck(argv, { ...ctx, env: undefined }, timeoutMs + 5000, 'probe');
}

/**
 * Runs a probe on the kubelet's schedule and reports readiness changes. Not ready until the first
 * successThreshold successes; unready after failureThreshold consecutive failures.
 */
export class ProbeLoop {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  ready = false;
  lastResult?: ProbeResult;

  constructor(
    private readonly probe: ProbeSpec,
    private readonly ctx: ProbeContext,
    private readonly onChange: (ready: boolean, result: ProbeResult) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule((this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.successes = 0;
    this.failures = 0;
    if (this.ready) {
      this.ready = false;
      this.onChange(false, { ok: false, message: 'container stopped' });
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const result = await checkOnce(this.probe, this.ctx);
    if (this.stopped) return;
    this.lastResult = result;
    if (result.ok) {
      this.failures = 0;
      this.successes++;
      if (!this.ready && this.successes >= (this.probe.successThreshold ?? 1)) {
        this.ready = true;
        this.onChange(true, result);
      }
    } else {
      this.successes = 0;
      this.failures++;
      if (this.ready && this.failures >= (this.probe.failureThreshold ?? 3)) {
        this.ready = false;
        this.onChange(false, result);
      }
    }
    this.schedule((this.probe.periodSeconds ?? 10) * 1000);
  }
}
