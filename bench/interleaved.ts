/**
 * Saturation runs for several proxies, interleaved: every proxy is started and warmed up first, then
 * each round loads each proxy in turn for a slice of the run. On a shared machine the CPU the
 * neighbours leave changes from one second to the next (the same process measured 1,200 and 9,000
 * req/s a minute apart here), so back-to-back slices of equal length see the same conditions, and the
 * median over rounds drops the slices a burst of neighbour load spoiled.
 */
import type { ChildProcess } from 'node:child_process';
import { cpuSeconds, processTree, stopProcess } from './processes.js';
import type { Row } from './report.js';
import { runWrk } from './wrk.js';

export interface Contender {
  name: string;
  url: string;
  /** Starts the proxy; undefined for "direct" (no process of its own to account). */
  start: () => Promise<ChildProcess | undefined>;
}

interface Slice {
  rps: number;
  cpuPerRequest: number | undefined;
  bad: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function measureInterleaved(wrk: string, contenders: Contender[], opts: { seconds: number; rounds: number; connections: number }): Promise<Row[]> {
  const started: Array<{ c: Contender; proc: ChildProcess | undefined; pids: number[]; slices: Slice[]; failed?: string }> = [];
  const sliceSeconds = Math.max(1, Math.round(opts.seconds / opts.rounds));
  try {
    for (const c of contenders) {
      try {
        const proc = await c.start();
        started.push({ c, proc, pids: proc?.pid ? processTree(proc.pid) : [], slices: [] });
      } catch (err) {
        started.push({ c, proc: undefined, pids: [], slices: [], failed: (err as Error).message.split('\n')[0] });
      }
    }
    // Warm-up long enough for V8 to have optimized the proxy's hot path before anything is counted.
    for (const s of started) if (!s.failed) await runWrk(wrk, s.c.url, { connections: opts.connections, threads: 1, seconds: 3 }).catch(() => undefined);
    for (let r = 0; r < opts.rounds; r++) {
      for (const s of started) {
        if (s.failed) continue;
        try {
          const cpu0 = s.pids.reduce((a, p) => a + cpuSeconds(p), 0);
          const w = await runWrk(wrk, s.c.url, { connections: opts.connections, threads: 1, seconds: sliceSeconds });
          const cpu = s.pids.reduce((a, p) => a + cpuSeconds(p), 0) - cpu0;
          s.slices.push({ rps: w.requestsPerSec, cpuPerRequest: s.pids.length && w.requests ? (cpu * 1e6) / w.requests : undefined, bad: w.errors + w.non2xx });
        } catch (err) {
          s.failed = (err as Error).message.split('\n')[0];
        }
      }
    }
  } finally {
    for (const s of started) if (s.proc) await stopProcess(s.proc);
  }
  return started.map((s): Row => {
    if (s.failed && s.slices.length === 0) return { name: s.c.name, value: NaN, unit: '', note: `failed: ${s.failed}` };
    const cpu = s.slices.map((x) => x.cpuPerRequest).filter((x): x is number => x !== undefined);
    const bad = s.slices.reduce((a, x) => a + x.bad, 0);
    const spread = cpu.length > 1 ? `CPU/req ${Math.min(...cpu).toFixed(0)}-${Math.max(...cpu).toFixed(0)} µs over ${cpu.length} slices` : undefined;
    const note = [bad ? `${bad} errors/non-2xx` : undefined, spread].filter(Boolean).join('; ') || undefined;
    return { name: s.c.name, value: median(s.slices.map((x) => x.rps)), unit: 'req/s', note, cpuPerUnit: cpu.length ? median(cpu) : undefined };
  });
}
