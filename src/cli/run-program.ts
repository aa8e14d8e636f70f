/**
 * The `sailfin` program around a set of sub-commands: shared by main.ts (all of them) and
 * proxy-main.ts (`proxy` alone), so both report errors alike — one line, no stack trace unless
 * SAILFIN_DEBUG is set.
 */
import { Command, CommanderError } from 'commander';
import { errorMessage } from '../common/errors.js';

export async function runProgram(registrations: ReadonlyArray<(program: Command) => void>, description?: string): Promise<void> {
  const program = new Command();
  program.name('sailfin');
  if (description) program.description(description);
  program
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError()
    .exitOverride();
  for (const register of registrations) register(program);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    process.stderr.write(`sailfin: ${errorMessage(err)}\n`);
    if (process.env.SAILFIN_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    process.exit(1);
  }
}
