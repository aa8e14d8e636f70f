/**
 * `sailfin exec POD [-n NS] -- CMD…`: runs a command inside a pod's network namespace, so its traffic
 * is captured by that pod's sidecar like the app's own (`sailfin exec curl -- curl http://productpage:9080/`).
 * In explicit mode there is no namespace: the command runs on the host with the pod's environment
 * (HTTP_PROXY pointing at its sidecar, PORT), so HTTP clients that honour it go through the mesh.
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
    const podEnv = { HOSTNAME: pod.name, POD_NAME: pod.name, POD_NAMESPACE: pod.namespace, INSTANCE_IP: pod.ip };
    let argv: string[];
    if (state.mode === 'explicit') argv = command;
    else if (pod.netns) argv = ['ip', 'netns', 'exec', pod.netns, ...command];
    else throw new SailfinError('runtime', `pod ${pod.name} has no network namespace (it is not running); "sailfin get pods" shows its status`);
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, ...podEnv, ...pod.env } });
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
