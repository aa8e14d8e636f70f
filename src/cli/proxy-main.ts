/**
 * Entry point of `sailfin proxy` alone. bin/sailfin comes here instead of main.ts for that one
 * command because a sidecar runs in every pod and should not load the other commands: importing
 * them all (control plane, xDS generators, Kubernetes client, mesh runtime) cost a proxy 27 MB of
 * resident memory and 0.8 s of start-up CPU, measured with `node --input-type=module -e
 * "await import('./dist/src/cli/commands.js')"` against proxy.js alone. Same options and errors as
 * through main.ts.
 */
import { Command, CommanderError } from 'commander';
import { errorMessage } from '../common/errors.js';
import { register } from './proxy.js';

const program = new Command();
program
  .name('sailfin')
  .version(process.env.npm_package_version ?? '0.1.0')
  .showHelpAfterError()
  .exitOverride();
register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  process.stderr.write(`sailfin: ${errorMessage(err)}\n`);
  if (process.env.SAILFIN_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  process.exit(1);
}
