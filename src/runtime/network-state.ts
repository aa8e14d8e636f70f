/**
 * The record of everything the local mesh created on this machine (bridge, pod namespaces, host-side
 * links, /etc/netns directories, pod processes), kept in `<stateDir>/network.json`. Each thing is
 * recorded *before* it is created, so a run killed at any point leaves a file that names all it may
 * have left behind; `cleanupLeftovers()` then removes it. Removing something already gone is fine.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SailfinError } from '../common/errors.js';
import { run } from './exec.js';

export type CreatedThing =
  | { kind: 'bridge'; name: string }
  | { kind: 'link'; name: string }
  | { kind: 'netns'; name: string }
  /** /etc/netns/<name>: per-namespace files `ip netns exec` bind-mounts over /etc (resolv.conf). */
  | { kind: 'etc-netns'; name: string }
  /** A process; `startTime` (from /proc/PID/stat) tells it from a later process given the same PID. */
  | { kind: 'process'; pid: number; startTime: string };

interface StateFile {
  version: 1;
  /** The sailfin process that owns these things. */
  owner: { pid: number; startTime: string };
  created: CreatedThing[];
}

const FILE = 'network.json';

/**
 * Field 22 of /proc/PID/stat (start time in clock ticks since boot), or '' when the process is gone or
 * a zombie (dead, waiting for a parent that may never reap it).
 */
export function processStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? '' : (fields[19] ?? '');
  } catch {
    return '';
  }
}

function isAlive(p: { pid: number; startTime: string }): boolean {
  return p.startTime !== '' && processStartTime(p.pid) === p.startTime;
}

function sameThing(a: CreatedThing, b: CreatedThing): boolean {
  if (a.kind === 'process' || b.kind === 'process') return a.kind === 'process' && b.kind === 'process' && a.pid === b.pid;
  return a.kind === b.kind && a.name === b.name;
}

/** The live record of one run. */
export class NetworkState {
  private readonly file: string;
  private readonly state: StateFile;

  private constructor(readonly stateDir: string) {
    this.file = join(stateDir, FILE);
    this.state = { version: 1, owner: { pid: process.pid, startTime: processStartTime(process.pid) }, created: [] };
  }

  /**
   * Starts a record for this process, after removing what a killed earlier run left. Refuses when the
   * previous owner is still running: two meshes would fight over the same bridge and addresses.
   */
  static async open(stateDir: string): Promise<NetworkState> {
    await cleanupLeftovers(stateDir);
    mkdirSync(stateDir, { recursive: true });
    const s = new NetworkState(stateDir);
    s.save();
    return s;
  }

  /** Records `thing` (before the caller creates it). */
  add(thing: CreatedThing): void {
    if (!this.state.created.some((t) => sameThing(t, thing))) this.state.created.push(thing);
    this.save();
  }

  /** Forgets `thing` (after the caller removed it). */
  remove(thing: CreatedThing): void {
    this.state.created = this.state.created.filter((t) => !sameThing(t, thing));
    this.save();
  }

  get created(): readonly CreatedThing[] {
    return this.state.created;
  }

  /** Removes everything recorded and the state file itself. */
  async teardown(): Promise<void> {
    await removeAll(this.state.created);
    rmSync(this.file, { force: true });
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.state, null, 2)}\n`);
    renameSync(tmp, this.file);
  }
}

async function removeOne(thing: CreatedThing): Promise<void> {
  switch (thing.kind) {
    case 'process':
      if (isAlive(thing)) {
        try {
          process.kill(thing.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        // SIGKILL is delivered asynchronously; wait (briefly) so callers see it gone.
        for (let i = 0; i < 50 && isAlive(thing); i++) await new Promise((r) => setTimeout(r, 20));
      }
      return;
    case 'netns':
      await run(['ip', 'netns', 'del', thing.name], { allowFailure: true });
      return;
    case 'bridge':
    case 'link':
      await run(['ip', 'link', 'del', thing.name], { allowFailure: true });
      return;
    case 'etc-netns':
      // The name comes from our own state file; refuse anything that could escape /etc/netns.
      if (/^[\w.-]+$/.test(thing.name)) rmSync(join('/etc/netns', thing.name), { recursive: true, force: true });
      return;
  }
}

/** Processes first (they hold namespaces open), then namespaces, links, the bridge, files. */
const REMOVAL_ORDER: CreatedThing['kind'][] = ['process', 'netns', 'link', 'bridge', 'etc-netns'];

async function removeAll(things: readonly CreatedThing[]): Promise<void> {
  for (const kind of REMOVAL_ORDER) {
    for (const thing of things.filter((t) => t.kind === kind)) await removeOne(thing);
  }
}

/**
 * Removes whatever a previous run recorded in `stateDir` and did not remove (it was killed). Returns
 * what it found. Throws when that run is still alive, unless `force` (used by `sailfin down` after it
 * has stopped the owner).
 */
export async function cleanupLeftovers(stateDir: string, opts: { force?: boolean } = {}): Promise<CreatedThing[]> {
  const file = join(stateDir, FILE);
  if (!existsSync(file)) return [];
  let state: StateFile;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as StateFile;
  } catch (err) {
    throw new SailfinError('io', `cannot read the local mesh's state file: ${(err as Error).message}`, { location: { file } });
  }
  const owner = state.owner;
  if (!opts.force && owner && owner.pid !== process.pid && isAlive(owner)) {
    throw new SailfinError('runtime', `another sailfin (pid ${owner.pid}) is running a mesh from this state directory; stop it with \`sailfin down\` first`, {
      location: { file },
    });
  }
  const created = Array.isArray(state.created) ? state.created : [];
  await removeAll(created);
  rmSync(file, { force: true });
  return created;
}

export interface StopResult {
  /** The owner's PID when it was running and had to be stopped. */
  stoppedPid?: number;
  /** Whether it had to be killed (it did not exit within the grace period). */
  killed: boolean;
  /** What was still recorded after it stopped, now removed. */
  removed: CreatedThing[];
}

/**
 * `sailfin down`: stops the mesh that owns `stateDir` (SIGTERM, so it tears down itself; SIGKILL after
 * `graceMs`), then removes whatever it did not. Safe to run when nothing is running.
 */
export async function stopMesh(stateDir: string, opts: { graceMs?: number } = {}): Promise<StopResult> {
  const file = join(stateDir, FILE);
  let owner: StateFile['owner'] | undefined;
  try {
    owner = (JSON.parse(readFileSync(file, 'utf8')) as StateFile).owner;
  } catch {
    owner = undefined; // no state file (nothing running), or unreadable: cleanupLeftovers reports the latter
  }
  let stoppedPid: number | undefined;
  let killed = false;
  if (owner && owner.pid !== process.pid && isAlive(owner)) {
    stoppedPid = owner.pid;
    process.kill(owner.pid, 'SIGTERM');
    const deadline = Date.now() + (opts.graceMs ?? 10_000);
    while (isAlive(owner) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (isAlive(owner)) {
      killed = true;
      process.kill(owner.pid, 'SIGKILL');
      for (let i = 0; i < 50 && isAlive(owner); i++) await new Promise((r) => setTimeout(r, 20));
    }
  }
  const removed = await cleanupLeftovers(stateDir, { force: true });
  return { stoppedPid, killed, removed };
}
