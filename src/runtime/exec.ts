/**
 * Running the system tools the local mesh is built from (`ip`, `iptables-restore`, …), optionally inside
 * a network namespace through `ip netns exec`. A failure becomes a SailfinError carrying the command and
 * the tool's own stderr, because that line ("Cannot find device", "Permission denied") is what a user
 * needs to see.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SailfinError } from '../common/errors.js';

const resolved = new Map<string, string>();

/**
 * The absolute path of a system tool (`ip`, `setpriv`), looked up once on this process's PATH plus the
 * sbin directories. Pod processes are spawned with the *container's* environment, whose PATH may
 * lack /usr/sbin; resolving here keeps `ip netns exec` working whatever the manifest sets.
 */
export function systemTool(name: string): string {
  const known = resolved.get(name);
  if (known) return known;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'].filter(Boolean);
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      resolved.set(name, join(dir, name));
      return join(dir, name);
    } catch {
      // next directory
    }
  }
  return name; // let spawn report ENOENT with the plain name
}

export interface RunOptions {
  /** Run inside this network namespace (`ip netns exec NAME …`). */
  netns?: string;
  /** Written to the command's stdin. */
  input?: string;
  /** Kill the command after this long (default 20 s): these tools never legitimately take longer. */
  timeoutMs?: number;
  /** Do not throw on a non-zero exit; the caller inspects `code`. */
  allowFailure?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The argv that runs `argv` in `netns` (or `argv` itself without one). */
export function inNetns(netns: string | undefined, argv: string[]): string[] {
  return netns ? [systemTool('ip'), 'netns', 'exec', netns, ...argv] : argv;
}

export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const full = inNetns(opts.netns, argv);
  const shown = full.join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(full[0], full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = err.code === 'ENOENT' ? `${full[0]} is not installed (needed for the local mesh's network namespaces)` : err.message;
      reject(new SailfinError('runtime', `${shown}: ${why}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
      if (result.code !== 0 && !opts.allowFailure) {
        const detail = stderr.trim().split('\n').slice(0, 3).join('; ') || (signal ? `killed by ${signal}` : `exit ${result.code}`);
        reject(new SailfinError('runtime', `${shown}: ${detail}`));
      } else {
        resolve(result);
      }
    });
    child.stdin.on('error', () => undefined); // the tool may exit before reading its input
    child.stdin.end(opts.input ?? '');
  });
}
