/**
 * An open-loop load generator: requests are scheduled at a fixed rate and each latency is measured
 * from when the request *should* have started, so a stalled proxy shows up in the percentiles
 * instead of quietly lowering the request rate (coordinated omission, as wrk2 corrects it).
 *
 * It runs in its own process (this file is also its entry point) so the benchmark's own work never
 * delays a request, and it speaks HTTP/1.1 over raw sockets with one pre-encoded request: Node's
 * http client spent about 100 µs of CPU per request, which on a 2-core machine is CPU taken from
 * the proxies being measured and time added to every latency, direct or proxied.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export interface RateResult {
  sent: number;
  failed: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** CPU seconds the generator itself used (user+system) during the measured part. */
  generatorCpu?: number;
}

export interface RateOptions {
  rps: number;
  seconds: number;
  connections: number;
  bodyBytes?: number;
  warmupSeconds?: number;
  /** The Host header, when it is not the URL's (an app naming a service through its sidecar's forward proxy). */
  host?: string;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

/** Runs the generator in a child process and returns its result. `cpuList` pins it (taskset -c) when given. */
export function constantRate(url: string, opts: RateOptions, cpuList?: string): Promise<RateResult> {
  const self = fileURLToPath(import.meta.url);
  const argv = [process.execPath, self, url, JSON.stringify(opts)];
  const [cmd, ...args] = cpuList ? ['taskset', '-c', cpuList, ...argv] : argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as RateResult);
      else reject(new Error(`load generator exited with ${code}`));
    });
  });
}

/** One keep-alive connection carrying one request at a time. */
class Conn {
  readonly socket: net.Socket;
  private buf: Buffer | undefined;
  private pendingFrom = 0n;
  busy = false;
  ready = false;

  constructor(
    target: URL,
    private readonly done: (conn: Conn, fromNs: bigint, ok: boolean) => void,
  ) {
    this.socket = net.connect(Number(target.port), target.hostname);
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => {
      this.ready = true;
      this.done(this, -1n, true);
    });
    this.socket.on('data', (d) => this.onData(d));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.ready = false;
      if (this.busy) {
        this.busy = false;
        this.done(this, this.pendingFrom, false);
      }
    });
  }

  send(request: Buffer, fromNs: bigint): void {
    this.busy = true;
    this.pendingFrom = fromNs;
    this.socket.write(request);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.toString('latin1', 0, end);
      const ok = head.startsWith('HTTP/1.1 200');
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      let total: number;
      if (cl) total = end + 4 + Number(cl[1]);
      else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        const last = this.buf.indexOf('\r\n0\r\n\r\n', end);
        if (last < 0) return;
        total = last + 7;
      } else total = end + 4;
      if (this.buf.length < total) return;
      this.buf = this.buf.length > total ? this.buf.subarray(total) : undefined;
      this.busy = false;
      this.done(this, this.pendingFrom, ok);
      if (!this.buf) return;
    }
  }
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function generate(url: string, opts: RateOptions): Promise<RateResult> {
  const target = new URL(url);
  const body = Buffer.alloc(opts.bodyBytes ?? 0, 'x');
  const head = `${body.length ? 'POST' : 'GET'} ${target.pathname} HTTP/1.1\r\nHost: ${opts.host ?? target.host}\r\n${body.length ? `Content-Length: ${body.length}\r\n` : ''}\r\n`;
  const request = Buffer.concat([Buffer.from(head, 'latin1'), body]);
  const latencies: number[] = [];
  let failed = 0;
  let recording = false;
  let outstanding = 0;
  // Requests due while every connection is busy wait here; their clock is already running.
  const queue: bigint[] = [];
  const idle: Conn[] = [];
  let allDone: (() => void) | undefined;
  const done = (conn: Conn, fromNs: bigint, ok: boolean): void => {
    if (fromNs >= 0n) {
      outstanding--;
      if (recording) {
        if (!ok) failed++;
        latencies.push(Number(process.hrtime.bigint() - fromNs) / 1e6);
      }
    }
    if (!conn.ready) {
      // A closed connection is replaced so the offered rate holds.
      conns[conns.indexOf(conn)] = new Conn(target, done);
    } else if (queue.length > 0) conn.send(request, queue.shift()!);
    else idle.push(conn);
    if (outstanding === 0 && allDone) allDone();
  };
  const takeIdle = (): Conn | undefined => {
    for (let c = idle.pop(); c; c = idle.pop()) {
      if (c.ready) return c;
      conns[conns.indexOf(c)] = new Conn(target, done);
    }
    return undefined;
  };
  const conns = Array.from({ length: opts.connections }, () => new Conn(target, done));
  await new Promise<void>((resolve) => {
    const check = (): void => (idle.length === opts.connections ? resolve() : void setTimeout(check, 5));
    check();
  });

  const run = async (seconds: number): Promise<void> => {
    const total = Math.round(opts.rps * seconds);
    const intervalNs = BigInt(Math.round(1e9 / opts.rps));
    const start = process.hrtime.bigint();
    let i = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = process.hrtime.bigint();
        // Everything due by now goes out, timed from when it was due.
        while (i < total && start + intervalNs * BigInt(i) <= now) {
          const due = start + intervalNs * BigInt(i++);
          outstanding++;
          const conn = takeIdle();
          if (conn) conn.send(request, due);
          else queue.push(due);
        }
        if (i >= total) return resolve();
        const waitMs = Number(start + intervalNs * BigInt(i) - process.hrtime.bigint()) / 1e6;
        setTimeout(tick, Math.max(0, Math.floor(waitMs)));
      };
      tick();
    });
    if (outstanding > 0) await new Promise<void>((resolve) => (allDone = resolve));
    allDone = undefined;
  };
  await run(opts.warmupSeconds ?? 1);
  recording = true;
  const cpu0 = cpuNow();
  await run(opts.seconds);
  const generatorCpu = cpuNow() - cpu0;
  for (const c of conns) c.socket.destroy();
  latencies.sort((a, b) => a - b);
  return { sent: latencies.length, failed, p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? NaN, generatorCpu };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await generate(process.argv[2], JSON.parse(process.argv[3]) as RateOptions);
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
}
