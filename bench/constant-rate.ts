/**
 * An open-loop load generator: requests are scheduled at a fixed rate and each latency is measured
 * from when the request *should* have started, so a stalled proxy shows up in the percentiles
 * instead of quietly lowering the request rate (coordinated omission, as wrk2 corrects it).
 */
import http from 'node:http';

export interface RateResult {
  sent: number;
  failed: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export async function constantRate(url: string, opts: { rps: number; seconds: number; connections: number; bodyBytes?: number; warmupSeconds?: number }): Promise<RateResult> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const body = opts.bodyBytes ? Buffer.alloc(opts.bodyBytes, 'x') : undefined;
  const latencies: number[] = [];
  let failed = 0;
  const send = (intendedNs: bigint, record: boolean) =>
    new Promise<void>((resolve) => {
      // A request sent up to 1 ms early (timer granularity) is timed from when it was really sent.
      const sentNs = process.hrtime.bigint();
      const fromNs = sentNs < intendedNs ? sentNs : intendedNs;
      const req = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: body ? 'POST' : 'GET', agent, headers: body ? { 'content-length': body.length } : {} },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (record) {
              if (res.statusCode !== 200) failed++;
              latencies.push(Number(process.hrtime.bigint() - fromNs) / 1e6);
            }
            resolve();
          });
        },
      );
      req.on('error', () => {
        if (record) failed++;
        resolve();
      });
      req.end(body);
    });
  const run = async (seconds: number, record: boolean) => {
    const total = Math.round(opts.rps * seconds);
    const intervalNs = BigInt(Math.round(1e9 / opts.rps));
    const start = process.hrtime.bigint();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const intended = start + intervalNs * BigInt(i);
      const waitMs = Number(intended - process.hrtime.bigint()) / 1e6;
      if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
      inflight.push(send(intended, record));
    }
    await Promise.all(inflight);
  };
  await run(opts.warmupSeconds ?? 1, false);
  await run(opts.seconds, true);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { sent: latencies.length, failed, p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? NaN };
}
