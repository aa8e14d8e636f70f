/** Runs wrk (closed-loop, saturation) and reads its summary. */
import { spawn } from 'node:child_process';

export interface WrkResult {
  requestsPerSec: number;
  /** Requests completed in the run, to divide a proxy's CPU time by. */
  requests: number;
  transferMBps: number;
  errors: number;
  non2xx: number;
}

function toMB(value: number, unit: string): number {
  const scale: Record<string, number> = { B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 };
  return value * (scale[unit] ?? 1);
}

export function runWrk(wrk: string, url: string, opts: { connections: number; threads: number; seconds: number }): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(wrk, [`-t${opts.threads}`, `-c${opts.connections}`, `-d${opts.seconds}s`, '--latency', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${out}`));
      const total = /(\d+) requests in/.exec(out);
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
      const transfer = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(out);
      const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
      if (!rps) return reject(new Error(`cannot read wrk output: ${out}`));
      resolve({
        requestsPerSec: Number(rps[1]),
        requests: total ? Number(total[1]) : 0,
        transferMBps: transfer ? toMB(Number(transfer[1]), transfer[2]) : 0,
        errors: errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
        non2xx: non2xx ? Number(non2xx[1]) : 0,
      });
    });
  });
}
