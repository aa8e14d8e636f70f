/**
 * `sailfin exec POD [-n NS] -- CMD…`: runs a command inside a pod's network namespace, so its traffic
 * is captured by that pod's sidecar like the app's own (`sailfin exec curl -- curl http://productpage:9080/`).
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { SailfinError } from '../common/errors.js';
import { findPod, runningMesh } from '../mesh/state.js';
import { withStateDir } from './state-option.js';

export function register(program: Command): void {
  withStateDir(
    program
      .command('exec')
      .description("run a command in a pod's network namespace (its traffic goes through the pod's sidecar)")
      .argument('<pod>', 'pod name (or name.namespace)')
      .argument('<command...>', 'the command and its arguments (after --)')
      .option('-n, --namespace <ns>', 'namespace of the pod'),
  ).action(async (podArg: string, command: string[], opts: { namespace?: string; stateDir: string }) => {
    const state = runningMesh(opts.stateDir);
    const pod = findPod(state, podArg, opts.namespace);
    if (!pod.netns) throw new SailfinError('runtime', `pod ${pod.name} has no network namespace (the mesh runs in ${state.mode} mode); run the command directly`);
    const child = spawn('ip', ['netns', 'exec', pod.netns, ...command], {
      stdio: 'inherit',
      env: { ...process.env, HOSTNAME: pod.name, POD_NAME: pod.name, POD_NAMESPACE: pod.namespace },
    });
    const code = await new Promise<number>((resolve) => {
      child.on('error', (err) => {
        process.stderr.write(`sailfin: cannot run ${command[0]}: ${err.message}\n`);
        resolve(127);
      });
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    });
    process.exitCode = code;
  });
}
