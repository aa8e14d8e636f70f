/**
 * Entry point of the `sailfin` command. Each sub-command lives in its own file under src/cli/
 * and exports a `register(program)` function; this file only wires them together.
 */
import { Command, CommanderError } from 'commander';
import { errorMessage } from '../common/errors.js';
import { commandRegistrations } from './commands.js';

const program = new Command();
program
  .name('sailfin')
  .description('A service mesh that implements Istio traffic management, with an Envoy-compatible proxy.')
  .version(process.env.npm_package_version ?? '0.1.0')
  .showHelpAfterError()
  .exitOverride();

for (const register of commandRegistrations) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  process.stderr.write(`sailfin: ${errorMessage(err)}\n`);
  if (process.env.SAILFIN_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  process.exit(1);
}
