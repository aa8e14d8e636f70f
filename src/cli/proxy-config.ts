/**
 * `sailfin proxy-config listeners|routes|clusters|endpoints|secrets|all POD [-o json]`: a proxy's live
 * config, read from its admin port like `istioctl proxy-config`. POD is a pod of the running local mesh,
 * or `--admin HOST:PORT` points at any Sailfin proxy (or Envoy).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { SailfinError } from '../common/errors.js';
import { findPod, runningMesh } from '../mesh/state.js';
import { clustersOf, listenersOf, routesOf, secretsOf } from './proxy-config/config-dump.js';
import { clustersTable, endpointsTable, listenersTable, routesTable, secretsTable } from './proxy-config/tables.js';
import { withStateDir } from './state-option.js';

const KINDS = ['listeners', 'routes', 'clusters', 'endpoints', 'secrets', 'all'] as const;
type Kind = (typeof KINDS)[number];

async function fetchJson(url: string): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    throw new SailfinError('runtime', `cannot reach the proxy admin at ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new SailfinError('runtime', `${url} answered ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('proxy-config')
      .alias('pc')
      .description("show a proxy's live configuration, like istioctl proxy-config")
      .argument('<kind>', KINDS.join('|'))
      .argument('[pod]', 'pod name (or name.namespace) of the running local mesh')
      .option('-n, --namespace <ns>', 'namespace of the pod')
      .option('--admin <host:port>', "a proxy's admin address instead of a pod")
      .option('-o, --output <format>', 'table (default) or json', 'table'),
  ).action(async (kindArg: string, podArg: string | undefined, opts: { namespace?: string; admin?: string; output: string; stateDir: string }) => {
    const kind = (kindArg === 'cluster' || kindArg === 'listener' || kindArg === 'route' || kindArg === 'endpoint' || kindArg === 'secret' ? `${kindArg}s` : kindArg) as Kind;
    if (!KINDS.includes(kind)) throw new InvalidArgumentError(`unknown kind "${kindArg}": use ${KINDS.join(', ')}`);
    let admin = opts.admin;
    if (!admin) {
      if (!podArg) throw new InvalidArgumentError('name a pod, or give --admin HOST:PORT');
      const pod = findPod(runningMesh(opts.stateDir), podArg, opts.namespace);
      if (!pod.sidecar && !pod.gateway) throw new SailfinError('runtime', `pod ${pod.name} has no proxy (sidecar injection is disabled for it)`);
      admin = `${pod.ip}:${pod.adminPort ?? 15000}`;
    }
    const base = `http://${admin}`;
    const dump = await fetchJson(`${base}/config_dump`);
    const json = opts.output === 'json';
    const out: string[] = [];
    const want = (k: Kind) => kind === k || kind === 'all';
    if (want('listeners')) out.push(json ? JSON.stringify(listenersOf(dump), null, 2) : listenersTable(dump));
    if (want('routes')) out.push(json ? JSON.stringify(routesOf(dump), null, 2) : routesTable(dump));
    if (want('clusters')) out.push(json ? JSON.stringify(clustersOf(dump), null, 2) : clustersTable(dump));
    if (want('endpoints')) {
      const clusters = await fetchJson(`${base}/clusters?format=json`);
      out.push(json ? JSON.stringify(clusters, null, 2) : endpointsTable(clusters));
    }
    if (want('secrets')) out.push(json ? JSON.stringify(secretsOf(dump), null, 2) : secretsTable(dump));
    process.stdout.write(out.join('\n') + (json ? '\n' : ''));
  });
}
