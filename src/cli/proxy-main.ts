/**
 * Entry point of `sailfin proxy` alone. bin/sailfin comes here instead of main.ts for that one
 * command because a sidecar runs in every pod and should not load the other commands: importing
 * them all (control plane, xDS generators, Kubernetes client, mesh runtime) cost a proxy 27 MB of
 * resident memory and 0.8 s of start-up CPU, measured with `node --input-type=module -e
 * "await import('./dist/src/cli/commands.js')"` against proxy.js alone. Same options and errors as
 * through main.ts.
 */
import { register } from './proxy.js';
import { runProgram } from './run-program.js';

await runProgram([register]);
