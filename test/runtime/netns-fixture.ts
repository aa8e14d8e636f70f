/**
 * Test fixtures for the runtime tests that need real network namespaces: unique names, a tidy-up list
 * that runs even when a test fails, small Node programs (responders and clients) run inside a
 * namespace, and the reason to skip when this machine cannot do it (not root, no `ip`/`iptables`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';

/** dist/test/runtime → dist */
export const distRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsSkipReason(needIptables = false): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces are Linux-only';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  if (!has('ip')) return 'iproute2 (`ip`) is not installed';
  if (needIptables && !has('iptables-restore')) return 'iptables is not installed';
  const probe = `sf-t-probe-${randomBytes(3).toString('hex')}`;
  const made = spawnSync('ip', ['netns', 'add', probe], { stdio: 'ignore' }).status === 0;
  spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  return made ? undefined : 'this process may not create network namespaces';
}

/** A short random tag: namespace and link names must be unique across concurrently running tests. */
export function tag(): string {
  return randomBytes(3).toString('hex');
}

/** Commands to run at the end, newest first, each allowed to fail (the thing may already be gone). */
export class Teardown {
  private readonly steps: Array<() => unknown> = [];
  private readonly children: ChildProcess[] = [];

  cmd(...argv: string[]): void {
    this.steps.push(() => void spawnSync(argv[0], argv.slice(1), { stdio: 'ignore', timeout: 10_000 }));
  }

  /** A step; a returned promise is awaited before the next step. */
  fn(step: () => unknown): void {
    this.steps.push(step);
  }

  child(c: ChildProcess): ChildProcess {
    this.children.push(c);
    return c;
  }

  async run(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const step of this.steps.reverse()) {
      try {
        await step();
      } catch {
        // keep tidying the rest
      }
    }
    this.steps.length = 0;
    this.children.length = 0;
  }
}

export function sh(...argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** A scratch directory readable by the proxy's UID (mkdtemp makes it 0700). */
export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sf-rt-'));
  chmodSync(dir, 0o755);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A TCP responder: listens on every given port (all IPv4 addresses, or `ROLE@HOST`'s host) and answers each connection with one
 * JSON line `{role, port, dst}` where dst is what originalDst() reads, then closes. Prints "ready".
 */
export function writeResponder(dir: string): string {
  const originalDst = pathToFileURL(join(distRoot, 'src', 'runtime', 'original-dst.js')).href;
  const path = join(dir, 'responder.mjs');
  writeFileSync(
    path,
    `import net from 'node:net';
import { originalDst } from ${JSON.stringify(originalDst)};
const [roleAtHost, ...ports] = process.argv.slice(2);
const [role, host = '0.0.0.0'] = roleAtHost.split('@');
let open = 0;
for (const p of ports) {
  const server = net.createServer((s) => {
    let dst = null;
    try { dst = originalDst(s) ?? null; } catch (e) { dst = { error: e.message }; }
    s.end(JSON.stringify({ role, port: s.localPort, dst, uid: process.getuid() }) + '\\n');
  });
  server.listen(Number(p), host, () => { if (++open === ports.length) console.log('ready'); });
}
`,
  );
  return path;
}

/** A TCP client: connects to HOST PORT [from LOCAL_ADDRESS] and prints what it receives (or `ERROR <code>`). */
export function writeClient(dir: string): string {
  const path = join(dir, 'client.mjs');
  writeFileSync(
    path,
    `import net from 'node:net';
const [host, port, localAddress] = process.argv.slice(2);
const s = net.connect({ host, port: Number(port), timeout: 3000, ...(localAddress ? { localAddress } : {}) });
let data = '';
s.on('data', (d) => (data += d));
s.on('end', () => { process.stdout.write(data); process.exit(0); });
s.on('timeout', () => { console.log('ERROR ETIMEDOUT'); process.exit(0); });
s.on('error', (e) => { console.log('ERROR ' + e.code); process.exit(0); });
`,
  );
  return path;
}

/** argv that runs as `uid` (and the same gid) with no supplementary groups. */
export function asUser(uid: number | undefined, argv: string[]): string[] {
  return uid === undefined ? argv : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...argv];
}

/** Starts a long-running program in `netns`, resolving once it prints "ready". */
export function startIn(netns: string, argv: string[], teardown: Teardown, uid?: number): Promise<ChildProcess> {
  const child = teardown.child(spawn('ip', ['netns', 'exec', netns, ...asUser(uid, argv)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not become ready: ${err}`)), 10_000);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`));
    });
  });
}

/** Runs a short program in `netns` and returns its stdout (rejects after 8 s). */
export function runIn(netns: string, argv: string[], uid?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, ...asUser(uid, argv)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`));
    });
  });
}
