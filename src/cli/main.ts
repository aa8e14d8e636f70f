/**
 * Entry point of the `sailfin` command. Each sub-command lives in its own file under src/cli/
 * and exports a `register(program)` function; this file only wires them together.
 */
import { commandRegistrations } from './commands.js';
import { runProgram } from './run-program.js';

await runProgram(commandRegistrations, 'A service mesh that implements Istio traffic management, with an Envoy-compatible proxy.');
