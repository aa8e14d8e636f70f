/**
 * Assembles a running proxy from a bootstrap: the shared context (stats, secrets, clusters, route
 * tables), static resources in Envoy's order (secrets, clusters, then listeners that refer to them),
 * the admin and health endpoints, and the ADS client when the bootstrap names a server.
 */
import type { Logger } from 'pino';
import { SailfinError } from '../common/errors.js';
import type { JsonObject } from './config/fields.js';
import type { ProxyContext } from './context.js';
import { AdminServer, listenHealth } from './admin/admin-server.js';
import type { AdminTarget, ServerState } from './admin/admin-target.js';
import type { AppProbers } from './admin/app-probers.js';
import type { AppScrape } from './admin/app-metrics.js';
import { compileBootstrap, type BootstrapConfig } from './bootstrap/bootstrap.js';
import { createClusterManager, routeCompiler, type ManagedClusters } from './bootstrap/components.js';
import { RouteRegistry } from './bootstrap/route-registry.js';
import { locate, type BootstrapSource } from './bootstrap/source.js';
import { stderrLogger } from './bootstrap/stderr-logger.js';
import { SettledGc } from './bootstrap/settled-gc.js';
import type { DynamicConfig } from './bootstrap/dynamic-config.js';
import { ListenerManager, type OriginalDstLookup } from './listener/listener-manager.js';
import { SecretProviderImpl } from './tls/secret-provider.js';
import { StatsStore } from './stats/store.js';
import { compileAccessLogs, type AccessLog } from './stats/access-log.js';

export interface ProxyOptions {
  /** Overrides admin.address's port (0 = any free port). */
  adminPort?: number;
  /** Istio's health port for /healthz/ready; not opened when undefined. */
  healthPort?: number;
  healthAddress?: string;
  /** Istio's merged-metrics port (15020): /stats/prometheus (and /healthz/ready), like the health port. */
  statsPort?: number;
  /** The app's original probes, served on the stats port under /app-health/ (Istio's probe rewriting). */
  appProbers?: AppProbers;
  /** The app's metrics page, merged into the stats port's /stats/prometheus (Istio's metrics merging). */
  appMetrics?: AppScrape;
  /** Envoy's own Prometheus port (Istio's 15090, http-envoy-prom): /stats/prometheus. */
  envoyPromPort?: number;
  drainTimeMs?: number;
  logger?: Logger;
  /** Called by /quitquitquit after the proxy has closed. */
  onQuit?: () => void;
  originalDst?: OriginalDstLookup;
}

export interface ProxyHandle {
  readonly ctx: ProxyContext;
  readonly listeners: ListenerManager;
  readonly clusters: ManagedClusters;
  readonly secrets: SecretProviderImpl;
  readonly routes: RouteRegistry;
  readonly adminPort: number | undefined;
  readonly healthPort: number | undefined;
  readonly statsPort?: number;
  readonly envoyPromPort?: number;
  close(): Promise<void>;
}

const VERSION = '0.1.0';

/** Starts a proxy; rejects with a SailfinError (with file:line when `source` is given) on bad config. */
export async function startProxy(bootstrap: JsonObject | BootstrapSource, opts: ProxyOptions = {}): Promise<ProxyHandle> {
  const source = 'lineOf' in bootstrap && typeof bootstrap.lineOf === 'function' ? (bootstrap as BootstrapSource) : undefined;
  const json = source ? source.json : (bootstrap as JsonObject);
  let cfg: BootstrapConfig;
  try {
    cfg = compileBootstrap(json);
  } catch (err) {
    throw locate(err, source);
  }
  const log = opts.logger ?? stderrLogger({ name: 'sailfin-proxy', level: process.env.SAILFIN_LOG_LEVEL ?? 'warn' });
  const stats = new StatsStore();
  const secrets = new SecretProviderImpl();
  const routes = new RouteRegistry();
  const base = { node: cfg.node, secrets, stats, log };
  const clusters = createClusterManager(base);
  const ctx: ProxyContext = { ...base, clusters, routes };
  routes.bind(ctx, routeCompiler);

  const listeners = new ListenerManager(ctx, { drainTimeMs: opts.drainTimeMs, originalDst: opts.originalDst });
  let state: ServerState = 'INITIALIZING';
  let admin: AdminServer | undefined;
  let health: { port: number; close(): void } | undefined;
  let statsEndpoint: { port: number; close(): void } | undefined;
  let envoyProm: { port: number; close(): void } | undefined;
  let dynamic: DynamicConfig | undefined;
  // Gives back the garbage of compiling the config once it stops changing (see settled-gc.ts).
  const settledGc = new SettledGc();
  const startedAt = Date.now();
  const handle: ProxyHandle = {
    ctx,
    listeners,
    clusters,
    secrets,
    routes,
    adminPort: undefined,
    healthPort: undefined,
    async close() {
      state = 'DRAINING';
      settledGc.close();
      dynamic?.close();
      listeners.close();
      clusters.close();
      admin?.close();
      health?.close();
      statsEndpoint?.close();
      envoyProm?.close();
    },
  };
  try {
    const step = (fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        throw locate(err instanceof SailfinError ? err : new SailfinError('schema', (err as Error).message), source);
      }
    };
    for (const s of cfg.secrets) step(() => secrets.addOrUpdate(s.json, s.path, { static: true }));
    for (const c of cfg.clusters) step(() => clusters.addOrUpdate(c.json, c.path, { static: true }));
    for (const l of cfg.listeners) {
      try {
        await listeners.addOrUpdate(l.json, l.path, { static: true });
      } catch (err) {
        throw locate(err, source);
      }
    }
    if (cfg.admin) {
      const adminCfg = cfg.admin;
      let adminLogs: AccessLog[] = [];
      step(() => (adminLogs = compileAccessLogs(adminCfg.accessLog, ctx, 'admin.access_log')));
      admin = new AdminServer(adminTarget(), adminLogs);
      const port = await admin.listen(cfg.admin.address.address, opts.adminPort ?? cfg.admin.address.port);
      (handle as { adminPort?: number }).adminPort = port;
    }
    if (opts.healthPort !== undefined) {
      admin ??= new AdminServer(adminTarget());
      health = await listenHealth(admin, opts.healthAddress ?? '0.0.0.0', opts.healthPort);
      (handle as { healthPort?: number }).healthPort = health.port;
    }
    if (opts.statsPort !== undefined) {
      admin ??= new AdminServer(adminTarget());
      statsEndpoint = await listenHealth(admin, opts.healthAddress ?? '0.0.0.0', opts.statsPort, { appProbers: opts.appProbers, appMetrics: opts.appMetrics });
      (handle as { statsPort?: number }).statsPort = statsEndpoint.port;
    }
    if (opts.envoyPromPort !== undefined) {
      admin ??= new AdminServer(adminTarget());
      envoyProm = await listenHealth(admin, opts.healthAddress ?? '0.0.0.0', opts.envoyPromPort, { envoyProm: true });
      (handle as { envoyPromPort?: number }).envoyPromPort = envoyProm.port;
    }
    if (cfg.dynamic?.ads_config) {
      // Loaded only when needed: the gRPC stack is most of the proxy's start-up time.
      const { startDynamicConfig } = await import('./bootstrap/dynamic-config.js');
      dynamic = startDynamicConfig(cfg.raw, { ctx, clusters, listeners, routes, secrets, staticClusters: new Set(cfg.clusters.map((c) => String(c.json.name))), onApplied: () => settledGc.touch(), onReady: () => (state = state === 'INITIALIZING' ? 'LIVE' : state) });
    } else state = 'LIVE';
    settledGc.touch();
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle;

  function adminTarget(): AdminTarget {
    return {
      stats,
      configDump(resource?: string) {
        // Dumps of a large config allocate megabytes the idle proxy would otherwise keep resident.
        settledGc.touch();
        const configs: JsonObject[] = [
          { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: redactKeys(cfg.raw), last_updated: new Date(startedAt).toISOString() },
          clusters.configDump(),
          listeners.dump(),
          routes.dump(),
          { '@type': 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump', ...secrets.dump() },
        ];
        if (resource) {
          const items: JsonObject[] = [];
          for (const c of configs) {
            const v = c[resource];
            if (Array.isArray(v)) items.push(...(v as JsonObject[]));
          }
          return { configs: items };
        }
        return { configs };
      },
      clusterNames: () => new Set(clusters.names()),
      clustersText: () => {
        settledGc.touch();
        return clusters.clustersText();
      },
      clustersJson: () => {
        settledGc.touch();
        return clusters.clustersJson() as unknown as JsonObject;
      },
      listeners: () => listeners.status(),
      state: () => state,
      serverInfo: () => ({
        version: `sailfin/${VERSION}`,
        state,
        hot_restart_version: 'disabled',
        command_line_options: { concurrency: 1, drain_time: `${Math.round((opts.drainTimeMs ?? 45000) / 1000)}s` },
        node: cfg.nodeJson,
        uptime_current_epoch: `${Math.round((Date.now() - startedAt) / 1000)}s`,
        uptime_all_epochs: `${Math.round((Date.now() - startedAt) / 1000)}s`,
      }),
      drainListeners: () => {
        state = 'DRAINING';
        listeners.drainAll();
      },
      quit: () => {
        void handle.close().then(() => opts.onQuit?.());
      },
    };
  }
}

/** A copy with every private key replaced, as Envoy redacts secrets in its config dump. */
function redactKeys(json: JsonObject): JsonObject {
  return JSON.parse(JSON.stringify(json), (key, value) => (key === 'private_key' && value !== null && typeof value === 'object' ? { inline_string: '[redacted]' } : value)) as JsonObject;
}
