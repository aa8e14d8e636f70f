/** Runs `bin/sailfin analyze` as a real process for the CLI tests (needs the compiled dist/). */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/analyze → repository root. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sailfin = join(repoRoot, 'bin', 'sailfin');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function analyze(args: readonly string[], cwd: string, input?: string, timeoutMs = 30_000): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [sailfin, 'analyze', ...args], { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
    child.stdin?.on('error', () => {}); // the command may exit without reading its input; the result says why
    child.stdin?.end(input ?? '');
  });
}
