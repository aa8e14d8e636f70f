/**
 * `sailfin discovery -f PATH… [--port 15010] [--monitoring-port 15014]`: the control plane alone,
 * serving ADS to Sailfin proxies, Envoy and proxyless gRPC clients from a directory of manifests,
 * reloading them when they change. (`--kubeconfig` is the Kubernetes source; see docs/kubernetes.md.)
 */
import { InvalidArgumentError, type Command } from 'commander';
import { pino } from 'pino';
import { ControlPlane } from '../discovery/control-plane.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number');
  return n;
}

export function register(program: Command): void {
  program
    .command('discovery')
    .description('run the control plane alone: serve xDS (ADS) from manifests, reloading them live')
    .option('-f, --filename <path>', 'manifest file or directory (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--port <port>', 'ADS (gRPC) port', port, 15010)
    .option('--monitoring-port <port>', 'debug and metrics port (/debug/syncz, /debug/config_dump)', port, 15014)
    .option('--no-watch', 'do not reload the manifests when they change')
    .option('--kubeconfig <file>', 'read config from a Kubernetes API server instead of files')
    .option('--in-cluster', 'read config from the API server of the cluster this pod runs in')
    .action(async (opts: { filename: string[]; host: string; port: number; monitoringPort: number; watch: boolean; kubeconfig?: string; inCluster?: boolean }) => {
      const kube = opts.kubeconfig !== undefined || opts.inCluster === true;
      if (kube === (opts.filename.length > 0)) throw new Error('discovery needs either -f PATH… or --kubeconfig FILE / --in-cluster, not both');
      const logger = pino({ level: process.env.SAILFIN_LOG_LEVEL ?? 'info' }, pino.destination(2));
      // Loaded only when asked for: @kubernetes/client-node takes seconds to import on a busy machine.
      const kubeSource = kube ? await import('../kube/kube-config-source.js') : undefined;
      const source = kubeSource ? new kubeSource.KubeConfigSource(kubeSource.loadKubeConfig(opts.kubeconfig), { log: (m) => logger.warn(m) }) : undefined;
      const cp = new ControlPlane({ paths: opts.filename, host: opts.host, adsPort: opts.port, monitoringPort: opts.monitoringPort, watch: opts.watch, logger, source });
      await cp.start();
      const from = kube ? `the Kubernetes API (${opts.kubeconfig ?? 'in-cluster'})` : opts.filename.join(', ');
      process.stdout.write(`sailfin discovery: ADS on ${opts.host}:${cp.adsPort}, monitoring on ${opts.host}:${cp.monitoringPort}, ${cp.store.size} objects from ${from}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await cp.close();
    });
}
