/** `sailfin logs POD [-c app|proxy|CONTAINER] [-n NS]`: a container's output, or the sidecar's access log. */
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { SailfinError } from '../common/errors.js';
import { findPod, runningMesh, statePaths } from '../mesh/state.js';
import { withStateDir } from './state-option.js';

export function logFile(stateDir: string, namespace: string, pod: string, container: string): string {
  return join(statePaths(stateDir).logs, `${namespace}_${pod}`, `${container}.log`);
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('logs')
      .description("print a pod container's output (-c proxy: the sidecar's access log)")
      .argument('<pod>', 'pod name (or name.namespace)')
      .option('-n, --namespace <ns>', 'namespace of the pod')
      .option('-c, --container <name>', 'app (the first container), proxy, or a container name'),
  ).action(async (podArg: string, opts: { namespace?: string; container?: string; stateDir: string }) => {
    const state = runningMesh(opts.stateDir);
    const pod = findPod(state, podArg, opts.namespace);
    let container = opts.container ?? 'app';
    if (container === 'app') container = pod.containers[0] ?? 'proxy';
    if (container === 'proxy' || container === 'istio-proxy') container = 'istio-proxy';
    const file = logFile(opts.stateDir, pod.namespace, pod.name, container);
    if (!existsSync(file)) {
      const dir = join(statePaths(opts.stateDir).logs, `${pod.namespace}_${pod.name}`);
      const have = existsSync(dir) ? readdirSync(dir).map((f) => f.replace(/\.log$/, '')) : [];
      throw new SailfinError('runtime', `pod ${pod.name} has no container "${container}"; it has: ${have.join(', ') || 'none yet'}`);
    }
    await new Promise<void>((resolve, reject) => createReadStream(file).on('error', reject).on('end', resolve).pipe(process.stdout, { end: false }));
  });
}
