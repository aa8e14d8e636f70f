/**
 * The proxy's own logger: pino's JSON line format on stderr, written synchronously, for the
 * handful of warnings a running proxy emits. Why not pino itself: loading it (with sonic-boom,
 * thread-stream and its serializers) added about 2 MB to the resident memory of every sidecar
 * (idle, one-cluster config: 60.9 MB without it, 61.6-63.3 MB with `-r pino`), against an issue-8
 * budget of 60 MB of which bare Node.js already takes 40. The type is pino's Logger so callers
 * (and the xDS client, which accepts any pino logger) need not change;
 * the methods those callers use are implemented here.
 */
import type { Logger } from 'pino';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type LevelName = keyof typeof LEVELS;

function levelValue(name: string | undefined): number {
  if (name === 'silent') return Infinity;
  return LEVELS[(name ?? 'info') as LevelName] ?? LEVELS.info;
}

export function stderrLogger(opts: { name: string; level?: string }, bindings: Record<string, unknown> = {}): Logger {
  const min = levelValue(opts.level);
  const write = (level: number, a: unknown, b: unknown): void => {
    if (level < min) return;
    let fields: Record<string, unknown> = {};
    let msg: unknown;
    if (typeof a === 'object' && a !== null && !(a instanceof Error)) {
      fields = a as Record<string, unknown>;
      msg = b;
    } else if (a instanceof Error) {
      fields = { err: { message: a.message } };
      msg = b ?? a.message;
    } else msg = a;
    const line: Record<string, unknown> = { level, time: Date.now(), pid: process.pid, name: opts.name, ...bindings, ...fields };
    if (msg !== undefined) line.msg = String(msg);
    try {
      process.stderr.write(`${JSON.stringify(line)}\n`);
    } catch {
      // A log line must never take the proxy down (a closed stderr, a circular field).
    }
  };
  const logger = {
    level: opts.level ?? 'info',
    trace: (a: unknown, b?: unknown) => write(LEVELS.trace, a, b),
    debug: (a: unknown, b?: unknown) => write(LEVELS.debug, a, b),
    info: (a: unknown, b?: unknown) => write(LEVELS.info, a, b),
    warn: (a: unknown, b?: unknown) => write(LEVELS.warn, a, b),
    error: (a: unknown, b?: unknown) => write(LEVELS.error, a, b),
    fatal: (a: unknown, b?: unknown) => write(LEVELS.fatal, a, b),
    isLevelEnabled: (name: string) => levelValue(name) >= min,
    child: (more: Record<string, unknown>) => stderrLogger(opts, { ...bindings, ...more }),
  };
  return logger as unknown as Logger;
}
