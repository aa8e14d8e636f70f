/**
 * Summarises V8 `.cpuprofile` files (written by `node --cpu-prof`, e.g. through
 * SAILFIN_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR") into where a proxy's JavaScript thread
 * spends its time: a share per layer (Sailfin's code, Node's library, V8 builtins and native calls,
 * garbage collection, idle) and the functions with the most self time. The performance issue asks
 * every missed target to come with such a profile; reading the raw JSON by hand is not practical.
 *
 * Usage: node dist/bench/cpu-profile-summary.js FILE|DIR... [--top N]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export type Layer = 'sailfin' | 'node library' | 'dependencies' | 'v8 builtins/native' | 'gc' | 'idle' | 'other';

export interface FunctionTime {
  readonly name: string;
  readonly layer: Layer;
  readonly micros: number;
}

export interface ProfileSummary {
  /** Sampled time excluding idle, in microseconds. */
  readonly busyMicros: number;
  readonly idleMicros: number;
  readonly layers: ReadonlyMap<Layer, number>;
  /** Busy functions by self time, largest first. */
  readonly functions: readonly FunctionTime[];
}

export function layerOf(frame: CallFrame): Layer {
  const { functionName: fn, url } = frame;
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(program)') return 'v8 builtins/native';
  if (url.startsWith('node:')) return 'node library';
  if (url.includes('/node_modules/')) return 'dependencies';
  if (url.includes('/dist/src/') || url.includes('/src/')) return 'sailfin';
  if (url === '') return 'v8 builtins/native';
  return 'other';
}

function shortUrl(url: string): string {
  const at = url.lastIndexOf('/dist/');
  if (at >= 0) return url.slice(at + 6);
  return url.replace(/^file:\/\//, '');
}

export function summarize(profiles: readonly CpuProfile[]): ProfileSummary {
  const byFunction = new Map<string, { layer: Layer; micros: number }>();
  const layers = new Map<Layer, number>();
  let idle = 0;
  let busy = 0;
  for (const profile of profiles) {
    const frames = new Map<number, CallFrame>();
    for (const node of profile.nodes) frames.set(node.id, node.callFrame);
    // timeDeltas[i] is the time before sample i; attributing it to sample i is what Chrome does.
    for (let i = 0; i < profile.samples.length; i++) {
      const frame = frames.get(profile.samples[i]!);
      const delta = profile.timeDeltas[i] ?? 0;
      if (!frame || delta <= 0) continue;
      const layer = layerOf(frame);
      if (layer === 'idle') {
        idle += delta;
        continue;
      }
      busy += delta;
      layers.set(layer, (layers.get(layer) ?? 0) + delta);
      const where = frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
      const key = `${frame.functionName || '(anonymous)'}${where}`;
      const entry = byFunction.get(key);
      if (entry) entry.micros += delta;
      else byFunction.set(key, { layer, micros: delta });
    }
  }
  const functions = [...byFunction].map(([name, v]) => ({ name, layer: v.layer, micros: v.micros }));
  functions.sort((a, b) => b.micros - a.micros);
  return { busyMicros: busy, idleMicros: idle, layers, functions };
}

export function formatSummary(summary: ProfileSummary, top: number): string {
  const pct = (us: number): string => `${((100 * us) / Math.max(1, summary.busyMicros)).toFixed(1)}%`;
  const lines = [
    `busy ${(summary.busyMicros / 1e6).toFixed(2)} s sampled on the JavaScript thread (idle ${(summary.idleMicros / 1e6).toFixed(2)} s not counted)`,
    'share of busy time by layer:',
  ];
  for (const [layer, us] of [...summary.layers].sort((a, b) => b[1] - a[1])) {
    lines.push(`  ${pct(us).padStart(6)}  ${layer}`);
  }
  lines.push(`top ${top} functions by self time:`);
  for (const f of summary.functions.slice(0, top)) {
    lines.push(`  ${pct(f.micros).padStart(6)}  ${f.name}  [${f.layer}]`);
  }
  return lines.join('\n');
}

function profileFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => join(path, name));
}

function main(argv: readonly string[]): void {
  let top = 15;
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') top = Number(argv[++i]);
    else paths.push(argv[i]!);
  }
  const files = paths.flatMap(profileFiles);
  if (files.length === 0 || !Number.isInteger(top) || top <= 0) {
    process.stderr.write('usage: cpu-profile-summary FILE|DIR... [--top N]  (no .cpuprofile found)\n');
    process.exit(2);
  }
  const profiles = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as CpuProfile);
  process.stdout.write(`${files.length} profile(s)\n${formatSummary(summarize(profiles), top)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
