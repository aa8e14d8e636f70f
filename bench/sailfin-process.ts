/** Runs the Sailfin proxy under test as its own process, the way users run it. */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, waitForPort } from './processes.js';

// SAILFIN_BENCH_BIN runs another build's bin/sailfin (an older commit, for a before/after in one run).
export const SAILFIN = process.env.SAILFIN_BENCH_BIN ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'sailfin');

/**
 * SAILFIN_BENCH_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--max-semi-space-size=1")
 * profiles or tunes the proxies of a run without editing the benchmark.
 */
export function benchNodeFlags(): string[] {
  return (process.env.SAILFIN_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
}

/** Starts `sailfin proxy` and waits until `host:port` (one of its listeners) accepts connections. */
export async function startSailfin(dir: string, name: string, bootstrap: object, port: number, concurrency = 1, host = '127.0.0.1'): Promise<ChildProcess> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(bootstrap, null, 1));
  const p = startProcess(process.execPath, [...benchNodeFlags(), SAILFIN, 'proxy', '--config', file, '--concurrency', String(concurrency)], {
    name: `sailfin ${name}`,
    env: { ...process.env, SAILFIN_LOG_LEVEL: 'warn' },
  });
  // With workers, the first to bind answers the port; wait for all, or the others' start-up would
  // be counted as the proxy's CPU and their share of connections would wait.
  const want = `${concurrency} workers ready`;
  let seen = '';
  const allReady = new Promise<void>((resolve) => {
    const onData = (c: Buffer): void => {
      seen = (seen + c.toString()).slice(-200);
      if (seen.includes(want)) {
        p.stderr!.off('data', onData);
        resolve();
      }
    };
    if (concurrency > 1) p.stderr!.on('data', onData);
    else resolve();
  });
  // Fail at once when the proxy refuses its config instead of waiting out the timeout.
  const exited = new Promise<never>((_, reject) => p.once('exit', (code) => reject(new Error(`sailfin exited with ${code} before listening`))));
  // Start-up is CPU-bound module loading; each worker pays it, slowly on a loaded machine.
  await Promise.race([waitForPort(port, 30_000 * concurrency, host), exited]);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not all ${concurrency} workers ready after 60 s`)), 60_000)));
  try {
    await Promise.race([allReady, exited, late]);
  } finally {
    clearTimeout(timer);
  }
  return p;
}
