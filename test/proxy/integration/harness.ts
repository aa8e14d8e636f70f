/**
 * Runs the real `bin/sailfin proxy --config FILE` process for integration tests: writes the
 * bootstrap to a temp file, waits for "ready", reads the admin and listener ports it prints, and
 * collects its stdout (the access log). Everything is killed at the end of the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/proxy/integration → repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const SAILFIN = join(ROOT, 'bin', 'sailfin');

export interface RunningProxy {
  proc: ChildProcess;
  adminPort: number;
  healthPort?: number;
  ports: Map<string, number>;
  stdout(): string;
  stderr(): string;
  file: string;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
  rssKiB(): number;
}

export function writeTemp(name: string, text: string): { file: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-it-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Whether another helper's module is in this build (its integration tests skip until it lands). */
export function hasModule(rel: string): boolean {
  return existsSync(join(ROOT, 'dist', 'src', rel));
}

export async function runProxy(bootstrap: object | string, args: string[] = [], timeoutMs = 60_000, opts: { netns?: string } = {}): Promise<RunningProxy> {
  const text = typeof bootstrap === 'string' ? bootstrap : JSON.stringify(bootstrap, null, 2);
  const tmp = writeTemp(typeof bootstrap === 'string' ? 'bootstrap.yaml' : 'bootstrap.json', text);
  const argv = [process.execPath, SAILFIN, 'proxy', '--config', tmp.file, ...args];
  // In a network namespace the proxy is started through `ip netns exec`, which execs node (same pid).
  const full = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv;
  const proc = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (err.includes('sailfin proxy: ready')) resolve(true);
      };
      proc.stderr!.on('data', check);
      check();
    }),
    exited.then(() => false),
    // Only a hang guard (60 s: start-up has taken over 30 s at load 45 on 2 cores). unref: it must not
    // keep the test process alive after the proxy is ready.
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
  ]);
  if (!ready) {
    proc.kill('SIGKILL');
    tmp.cleanup();
    throw new Error(`proxy did not start: ${err}`);
  }
  const ports = new Map<string, number>();
  for (const m of err.matchAll(/listener (\S+) on \S+:(\d+)/g)) ports.set(m[1], Number(m[2]));
  const admin = /admin listening on (\d+)/.exec(err);
  const health = /health listening on (\d+)/.exec(err);
  return {
    proc,
    file: tmp.file,
    adminPort: admin ? Number(admin[1]) : 0,
    healthPort: health ? Number(health[1]) : undefined,
    ports,
    stdout: () => out,
    stderr: () => err,
    exited,
    rssKiB: () => {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      tmp.cleanup();
    },
  };
}

/** Runs the CLI to completion (for configs that must be refused). */
export function runProxyExpectExit(bootstrapText: string, name = 'bootstrap.yaml'): Promise<{ code: number | null; stderr: string; file: string }> {
  const tmp = writeTemp(name, bootstrapText);
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [SAILFIN, 'proxy', '--config', tmp.file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.on('exit', (code) => {
      clearTimeout(t);
      tmp.cleanup();
      resolve({ code, stderr: err, file: tmp.file });
    });
  });
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function httpGet(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false, timeout: opts.timeoutMs ?? 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };

/** The node of a `sleep` sidecar in `default`, the source workload of the Istio telemetry tests. */
export const SLEEP_SIDECAR_NODE = {
  id: 'sidecar~127.0.0.3~sleep-1.default~default.svc.cluster.local',
  metadata: { NAME: 'sleep-1', NAMESPACE: 'default', WORKLOAD_NAME: 'sleep', LABELS: { app: 'sleep' } },
};

export const ISTIO_STATS_FILTER = { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } };

export function adminBlock(): object {
  return { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } };
}

export function staticCluster(name: string, ports: number[], extra: object = {}): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }],
    },
    ...extra,
  };
}

export function tcpListener(name: string, chains: object[], extra: object = {}): object {
  return { name, address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: chains, ...extra };
}

export function tcpProxyFilter(cluster: string, extra: object = {}): object {
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: cluster, cluster, ...extra } };
}
