/**
 * `sailfin get pods|services|all [-n NS | -A] [-o wide|json]`: what the local mesh runs, in kubectl's
 * layout, read from the running mesh's state.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { runningMesh, type MeshState } from '../mesh/state.js';
import { table } from './proxy-config/tables.js';
import { withStateDir } from './state-option.js';

function podsTable(state: MeshState, ns: string | undefined, wide: boolean): string {
  const pods = state.pods.filter((p) => !ns || p.namespace === ns);
  const rows = pods.map((p) => {
    const ready = `${p.ready ? p.containers.length + (p.sidecar ? 1 : 0) : 0}/${p.containers.length + (p.sidecar ? 1 : 0)}`;
    const base = [...(ns ? [] : [p.namespace]), p.name, ready, p.phase, String(p.restarts)];
    return wide ? [...base, p.ip, p.sidecar ? 'sidecar' : p.gateway ? `${p.gateway} gateway` : 'none'] : base;
  });
  const head = [...(ns ? [] : ['NAMESPACE']), 'NAME', 'READY', 'STATUS', 'RESTARTS', ...(wide ? ['IP', 'PROXY'] : [])];
  return table(head, rows);
}

function servicesTable(state: MeshState, ns: string | undefined): string {
  const rows = state.services
    .filter((s) => !ns || s.namespace === ns)
    .map((s) => [...(ns ? [] : [s.namespace]), s.name, s.addresses.join(',') || 'None', s.ports.map((p) => `${p.port}/${p.protocol}${p.name ? ` (${p.name})` : ''}`).join(',')]);
  return table([...(ns ? [] : ['NAMESPACE']), 'NAME', 'CLUSTER-IP', 'PORT(S)'], rows);
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('get')
      .description('list the pods and services of the running local mesh')
      .argument('<what>', 'pods, services (svc) or all')
      .option('-n, --namespace <ns>', 'only this namespace')
      .option('-o, --output <format>', 'wide or json', (v) => {
        if (v !== 'wide' && v !== 'json') throw new InvalidArgumentError('must be wide or json');
        return v;
      }),
  ).action((what: string, opts: { namespace?: string; output?: string; stateDir: string }) => {
    const state = runningMesh(opts.stateDir);
    const kind = what === 'po' || what === 'pod' ? 'pods' : what === 'svc' || what === 'service' ? 'services' : what;
    if (!['pods', 'services', 'all'].includes(kind)) throw new InvalidArgumentError(`unknown resource "${what}": use pods, services or all`);
    if (opts.output === 'json') {
      const out: Record<string, unknown> = {};
      if (kind !== 'services') out.pods = state.pods.filter((p) => !opts.namespace || p.namespace === opts.namespace);
      if (kind !== 'pods') out.services = state.services.filter((s) => !opts.namespace || s.namespace === opts.namespace);
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return;
    }
    if (kind !== 'services') process.stdout.write(podsTable(state, opts.namespace, opts.output === 'wide'));
    if (kind === 'all') process.stdout.write('\n');
    if (kind !== 'pods') process.stdout.write(servicesTable(state, opts.namespace));
  });
}
