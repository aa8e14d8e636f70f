/**
 * `sailfin discovery -f PATH… [--port 15010] [--monitoring-port 15014]`: the control plane alone,
 * serving ADS to Sailfin proxies, Envoy and proxyless gRPC clients from a directory of manifests,
 * reloading them when they change. (`--kubeconfig` is the Kubernetes source; see docs/kubernetes.md.)
 */
import { randomBytes } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { pino } from 'pino';
import { ControlPlane } from '../discovery/control-plane.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number');
  return n;
}

interface DiscoveryOptions {
  filename: string[];
  host: string;
  port: number;
  monitoringPort: number;
  watch: boolean;
  kubeconfig?: string;
  inCluster?: boolean;
  caPort: number;
  caStateDir?: string;
  webhookPort: number;
  webhook: boolean;
  istioNamespace: string;
  proxyImage: string;
  revision: string;
  webhookConfig: string;
  leaderElect: boolean;
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
    .option('--ca-port <port>', 'with a cluster: the mesh CA (TLS) port injected proxies get certificates from', port, 15012)
    .option('--ca-state-dir <dir>', "with a cluster: where the self-signed mesh root is kept (a 'cacerts' Secret replaces it)")
    .option('--webhook-port <port>', 'with a cluster: the sidecar injection webhook port (HTTPS, /inject)', port, 15017)
    .option('--no-webhook', 'with a cluster: do not serve the injection webhook')
    .option('--istio-namespace <ns>', "with a cluster: the control plane's namespace", process.env.POD_NAMESPACE ?? 'istio-system')
    .option('--proxy-image <image>', 'with a cluster: image of injected sidecars', process.env.SAILFIN_PROXY_IMAGE ?? 'sailfin:latest')
    .option('--revision <rev>', 'with a cluster: the control-plane revision (istio.io/rev) this replica injects for', 'default')
    .option('--webhook-config <name>', 'with a cluster: MutatingWebhookConfiguration whose caBundle the leader keeps current', 'istio-sidecar-injector')
    .option('--no-leader-elect', 'with a cluster: write shared state without electing a leader (one replica only)')
    .action(async (opts: DiscoveryOptions) => {
      const kube = opts.kubeconfig !== undefined || opts.inCluster === true;
      if (kube === (opts.filename.length > 0)) throw new Error('discovery needs either -f PATH… or --kubeconfig FILE / --in-cluster, not both');
      const logger = pino({ level: process.env.SAILFIN_LOG_LEVEL ?? 'info' }, pino.destination(2));
      // Loaded only when asked for: @kubernetes/client-node takes seconds to import on a busy machine.
      const kubeSource = kube ? await import('../kube/kube-config-source.js') : undefined;
      const kc = kubeSource?.loadKubeConfig(opts.kubeconfig);
      const source = kubeSource && kc ? new kubeSource.KubeConfigSource(kc, { log: (m) => logger.warn(m) }) : undefined;
      const cp = new ControlPlane({ paths: opts.filename, host: opts.host, adsPort: opts.port, monitoringPort: opts.monitoringPort, watch: opts.watch, logger, source });
      await cp.start();
      let cluster: { close(): Promise<void>; webhookPort: number } | undefined;
      let clusterCa: { close(): Promise<void>; port: number } | undefined;
      if (kc) {
        // In a cluster the control plane is also the mesh CA (15012), as istiod is, accepting the
        // pods' service-account tokens.
        const { startClusterCa } = await import('../kube/cluster-ca.js');
        const meshCa = await startClusterCa({
          kc,
          store: cp.store,
          stateDir: opts.caStateDir ?? join(tmpdir(), 'sailfin-discovery'),
          host: opts.host,
          port: opts.caPort,
          namespace: opts.istioNamespace,
          trustDomain: cp.snapshot().mesh.trustDomain,
          logger,
        });
        clusterCa = meshCa;
        const { ClusterServices } = await import('../kube/cluster-services.js');
        const { injectValuesFor, followMeshDefaults } = await import('../inject/values.js');
        const { meshConfigFrom } = await import('../config/mesh-config.js');
        const services = new ClusterServices({
          kc,
          store: cp.store,
          ca: meshCa.ca.ca,
          namespace: opts.istioNamespace,
          webhook: opts.webhook
            ? { host: opts.host, port: opts.webhookPort, configName: opts.webhookConfig, values: followMeshDefaults(injectValuesFor(opts.istioNamespace, { image: opts.proxyImage, revision: opts.revision }), () => meshConfigFrom(cp.store.list('ConfigMap')).config.defaultConfig) }
            : undefined,
          election: opts.leaderElect ? { identity: `${process.env.POD_NAME ?? hostname()}_${randomBytes(4).toString('hex')}` } : undefined,
          log: (m) => logger.info(m),
        });
        await services.start();
        cluster = services;
      }
      const from = kube ? `the Kubernetes API (${opts.kubeconfig ?? 'in-cluster'})` : opts.filename.join(', ');
      const extra = cluster ? `, CA on ${opts.host}:${clusterCa?.port}${cluster.webhookPort ? `, injection webhook on ${opts.host}:${cluster.webhookPort}` : ''}` : '';
      process.stdout.write(`sailfin discovery: ADS on ${opts.host}:${cp.adsPort}, monitoring on ${opts.host}:${cp.monitoringPort}${extra}, ${cp.store.size} objects from ${from}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await cluster?.close();
      await clusterCa?.close();
      await cp.close();
    });
}
