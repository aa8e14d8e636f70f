/**
 * `sailfin down`: stops the running local mesh and removes every namespace, link, rule and process it
 * made, including what a killed earlier run left behind.
 */
import type { Command } from 'commander';
import { cleanupLeftovers } from '../runtime/network-state.js';
import { alive, readState, releaseStateDir } from '../mesh/state.js';
import { withStateDir } from './state-option.js';

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

export function register(program: Command): void {
  withStateDir(program.command('down').description('stop the running local mesh and remove everything it created')).action(async (opts: { stateDir: string }) => {
    const state = readState(opts.stateDir);
    if (state && alive(state.pid)) {
      process.kill(state.pid, 'SIGTERM');
      if (!(await waitForExit(state.pid, 20_000))) {
        process.stderr.write(`sailfin: the mesh (pid ${state.pid}) did not stop in 20 s; killing it\n`);
        process.kill(state.pid, 'SIGKILL');
        await waitForExit(state.pid, 5000);
      }
      process.stdout.write(`stopped the mesh (pid ${state.pid})\n`);
    } else {
      process.stdout.write('no mesh was running\n');
    }
    const removed = await cleanupLeftovers(opts.stateDir, { force: true });
    if (removed.length) process.stdout.write(`removed ${removed.length} leftover item(s): ${removed.map((t) => ('name' in t ? t.name : `pid ${t.pid}`)).join(', ')}\n`);
    releaseStateDir(opts.stateDir);
  });
}
