/**
 * `sailfin down`: stops the running local mesh and removes every namespace, link, rule and process it
 * made, including what a killed earlier run left behind.
 */
import type { Command } from 'commander';
import { stopMesh } from '../runtime/network-state.js';
import { releaseStateDir } from '../mesh/state.js';
import { withStateDir } from './state-option.js';

export function register(program: Command): void {
  withStateDir(program.command('down').description('stop the running local mesh and remove everything it created')).action(async (opts: { stateDir: string }) => {
    // The owner recorded with what the mesh created (pid and start time, so a reused pid is never signalled).
    const { stoppedPid, killed, removed } = await stopMesh(opts.stateDir, { graceMs: 20_000 });
    if (stoppedPid === undefined) process.stdout.write('no mesh was running\n');
    else {
      if (killed) process.stderr.write(`sailfin: the mesh (pid ${stoppedPid}) did not stop in 20 s; killed it\n`);
      process.stdout.write(`stopped the mesh (pid ${stoppedPid})\n`);
    }
    if (removed.length) process.stdout.write(`removed ${removed.length} leftover item(s): ${removed.map((t) => ('name' in t ? t.name : `pid ${t.pid}`)).join(', ')}\n`);
    releaseStateDir(opts.stateDir);
  });
}
