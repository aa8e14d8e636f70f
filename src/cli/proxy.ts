/**
 * `sailfin proxy --config BOOTSTRAP.yaml`: the data plane alone, from an Envoy-style bootstrap.
 * Prints where it listens on stderr (the admin port and each listener's real port, which matter
 * when the config asks for port 0), so scripts and tests can find it.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { SailfinError, errorMessage } from '../common/errors.js';
import { parseBootstrapText, readBootstrapFile, type BootstrapSource } from '../proxy/bootstrap/source.js';
import { formatAddress } from '../proxy/listener/address.js';
import { startProxy } from '../proxy/proxy.js';
import { isProxyWorker, reportWorkerReady, startWorkers } from './proxy-workers.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

interface ProxyCliOptions {
  config?: string;
  type: 'sidecar' | 'router';
  discoveryAddress: string;
  adminPort?: number;
  healthPort?: number;
  statsPort?: number;
  envoyPromPort?: number;
  healthAddress?: string;
  concurrency?: number;
  drainTimeS?: number;
  identityDir?: string;
  caAddress?: string;
  trustDomain: string;
}

/** Loaded only without --config, so a proxy given a bootstrap file does not pay for it. */
async function podBootstrap(opts: ProxyCliOptions): Promise<BootstrapSource> {
  if (opts.type !== 'sidecar' && opts.type !== 'router') throw new InvalidArgumentError('--type must be sidecar or router');
  const { podBootstrapFromEnv } = await import('../inject/pod-bootstrap.js');
  return parseBootstrapText(JSON.stringify(podBootstrapFromEnv(process.env, { type: opts.type, discoveryAddress: opts.discoveryAddress })), '<pod env>');
}

export function register(program: Command): void {
  program
    .command('proxy')
    .description('run the data-plane proxy alone from an Envoy v3 bootstrap (YAML or JSON)')
    .option('-c, --config <file>', "the bootstrap file (without it: built from the pod's env, as in an injected sidecar)")
    .option('--type <type>', 'without --config: sidecar or router (gateway)', 'sidecar')
    .option('--discovery-address <host:port>', 'without --config: the control plane\'s xDS address', 'istiod.istio-system.svc:15010')
    .option('--admin-port <port>', "override admin.address's port (0 = any free port)", port)
    .option('--health-port <port>', "serve Istio's /healthz/ready on this port (Istio uses 15021)", port)
    .option('--stats-port <port>', "serve Istio's metrics (/stats/prometheus) on this port (Istio's merged-metrics port is 15020)", port)
    .option('--envoy-prom-port <port>', "serve Envoy's Prometheus stats on this port (Istio's http-envoy-prom 15090, which injected sidecars declare and pass)", port)
    .option('--health-address <ip>', 'address for --health-port and --stats-port (default all; the local mesh\'s explicit mode gives each pod its own)')
    .option('--concurrency <n>', 'worker processes sharing the listeners, one event loop (core) each, like Envoy\'s workers', positive)
    .option('--drain-time-s <seconds>', 'how long old connections may finish after a listener changes', positive)
    .option('--identity-dir <dir>', "the pod's bootstrap token and mesh root (istio-token, root-cert.pem): get a workload certificate from the mesh CA")
    .option('--ca-address <host:port>', "the mesh CA's TLS port (Istio's 15012), with --identity-dir")
    .option('--trust-domain <domain>', 'SPIFFE trust domain of the workload identity', 'cluster.local')
    .action(async (opts: ProxyCliOptions) => {
      const source = opts.config ? await readBootstrapFile(opts.config) : await podBootstrap(opts);
      if (opts.concurrency !== undefined && opts.concurrency > 1 && !isProxyWorker()) {
        startWorkers(opts.concurrency);
        return;
      }
      let stopping = false;
      // The injector's rewritten probes (Istio's ISTIO_KUBE_APP_PROBERS), answered on the stats port.
      const probersText = process.env.ISTIO_KUBE_APP_PROBERS;
      const appProbers = probersText ? (await import('../proxy/admin/app-probers.js')).parseAppProbers(probersText, process.env.INSTANCE_IP || undefined) : undefined;
      // The app's prometheus.io/* scrape settings the injector moved aside, merged into 15020.
      const scrapeText = process.env.ISTIO_PROMETHEUS_ANNOTATIONS;
      const appMetrics = scrapeText ? (await import('../proxy/admin/app-metrics.js')).parseAppScrape(scrapeText, process.env.INSTANCE_IP || undefined) : undefined;
      const proxy = await startProxy(source, {
        appProbers,
        appMetrics,
        envoyPromPort: opts.envoyPromPort,
        adminPort: opts.adminPort,
        healthPort: opts.healthPort,
        statsPort: opts.statsPort,
        healthAddress: opts.healthAddress,
        drainTimeMs: opts.drainTimeS === undefined ? undefined : opts.drainTimeS * 1000,
        onQuit: () => process.exit(0),
      });
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        void proxy.close().then(() => process.exit(0));
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      // A bug in one connection's handling must not take down every other connection.
      process.on('uncaughtException', (err) => {
        process.stderr.write(`sailfin proxy: internal error (connection dropped): ${err instanceof SailfinError ? errorMessage(err) : (err?.stack ?? String(err))}\n`);
      });
      if (opts.identityDir) {
        if (!opts.caAddress) throw new InvalidArgumentError('--identity-dir needs --ca-address');
        // Loaded only here: the CA client (gRPC, X.509 parsing) is 7 MB of resident memory that a
        // proxy given its certificates in the bootstrap or over SDS never uses.
        const { attachIdentity } = await import('./proxy-identity.js');
        await attachIdentity(source.json, proxy.secrets, { identityDir: opts.identityDir, caAddress: opts.caAddress, trustDomain: opts.trustDomain });
        process.stderr.write('sailfin proxy: workload certificate in place\n');
      }
      if (proxy.adminPort !== undefined) process.stderr.write(`sailfin proxy: admin listening on ${proxy.adminPort}\n`);
      if (proxy.healthPort !== undefined) process.stderr.write(`sailfin proxy: health listening on ${proxy.healthPort}\n`);
      if (proxy.statsPort !== undefined) process.stderr.write(`sailfin proxy: stats listening on ${proxy.statsPort}\n`);
      if (proxy.envoyPromPort !== undefined) process.stderr.write(`sailfin proxy: envoy prometheus listening on ${proxy.envoyPromPort}\n`);
      for (const l of proxy.listeners.status()) {
        process.stderr.write(`sailfin proxy: listener ${l.name} on ${l.bound ? formatAddress(l.address, l.port) : '(not bound)'}\n`);
      }
      process.stderr.write('sailfin proxy: ready\n');
      reportWorkerReady();
    });
}
