/**
 * Config from the control plane: connects the ADS client to the proxy's managers. Clusters come
 * before listeners (the client orders them), a response is applied whole or NACKed, resources missing
 * from an LDS/CDS response are removed (static ones never are), and route tables, endpoints and
 * secrets are requested by the names the running config refers to.
 */
import { AdsClient } from '../../xds/client.js';
import { adsTargetFromBootstrap } from '../../xds/ads-target.js';
import { TypeUrl, type XdsTypeUrl } from '../../xds/protos.js';
import { errorMessage, SailfinError } from '../../common/errors.js';
import type { JsonObject } from '../config/fields.js';
import type { ProxyContext } from '../context.js';
import type { ListenerManager } from '../listener/listener-manager.js';
import type { SecretProviderImpl } from '../tls/secret-provider.js';
import type { ManagedClusters } from './components.js';
import type { RouteRegistry } from './route-registry.js';

export interface DynamicConfigDeps {
  ctx: ProxyContext;
  clusters: ManagedClusters;
  listeners: ListenerManager;
  routes: RouteRegistry;
  secrets: SecretProviderImpl;
  staticClusters: ReadonlySet<string>;
  /** Called after every response the proxy applied (in whole or in part). */
  onApplied?: () => void;
  /** Called once the first listeners have been applied (the proxy is then LIVE). */
  onReady: () => void;
}

export interface DynamicConfig {
  client: AdsClient;
  close(): void;
}

function edsName(cluster: JsonObject): string | undefined {
  if (cluster.type !== 'EDS') return undefined;
  const eds = cluster.eds_cluster_config as JsonObject | undefined;
  const service = eds?.service_name;
  return typeof service === 'string' && service ? service : String(cluster.name);
}

export function startDynamicConfig(bootstrap: JsonObject, deps: DynamicConfigDeps): DynamicConfig | undefined {
  const target = adsTargetFromBootstrap(bootstrap);
  if (!target) return undefined;
  const { clusters, listeners, routes, secrets } = deps;
  const dynamicClusters = new Set<string>();
  const dynamicListeners = new Set<string>();
  const edsToCluster = new Map<string, string>();
  let ready = false;
  const client: AdsClient = new AdsClient({
    target: target.target,
    node: target.node,
    logger: deps.ctx.log,
    events: {
      async onResources(typeUrl: XdsTypeUrl, resources, version) {
        const errors: string[] = [];
        const attempt = (what: string, fn: () => void): void => {
          try {
            fn();
          } catch (err) {
            errors.push(`${what}: ${errorMessage(err)}`);
          }
        };
        if (typeUrl === TypeUrl.Cluster) {
          for (const [name, json] of resources) attempt(name, () => clusters.addOrUpdate(json, `clusters[${name}]`, { versionInfo: version }));
          for (const name of [...dynamicClusters]) if (!resources.has(name) && !deps.staticClusters.has(name)) clusters.remove(name);
          dynamicClusters.clear();
          edsToCluster.clear();
          for (const [name, json] of resources) {
            dynamicClusters.add(name);
            const eds = edsName(json);
            if (eds) edsToCluster.set(eds, name);
          }
          client.watch(TypeUrl.ClusterLoadAssignment, [...edsToCluster.keys()]);
        } else if (typeUrl === TypeUrl.ClusterLoadAssignment) {
          for (const [name, json] of resources) attempt(name, () => clusters.updateEndpoints(name, json, `endpoints[${name}]`));
        } else if (typeUrl === TypeUrl.Listener) {
          // Each listener stands alone (as in Envoy): a bad one is named in the NACK and keeps its previous version.
          for (const [name, json] of resources) {
            try {
              await listeners.addOrUpdate(json, `listeners[${name}]`, { version });
            } catch (err) {
              errors.push(`${name}: ${errorMessage(err)}`);
            }
          }
          for (const name of [...dynamicListeners]) if (!resources.has(name)) listeners.remove(name);
          dynamicListeners.clear();
          for (const name of resources.keys()) dynamicListeners.add(name);
          if (!ready) {
            ready = true;
            deps.onReady();
          }
        } else if (typeUrl === TypeUrl.RouteConfiguration) {
          for (const [name, json] of resources) attempt(name, () => routes.addOrUpdate(json, `routes[${name}]`, version));
        } else if (typeUrl === TypeUrl.Secret) {
          for (const [name, json] of resources) attempt(name, () => secrets.addOrUpdate(json, `secrets[${name}]`, { version }));
        }
        deps.onApplied?.();
        if (errors.length > 0) throw new SailfinError('schema', errors.join('; '));
      },
    },
  });
  routes.onSubscribe = (names) => client.watch(TypeUrl.RouteConfiguration, names);
  secrets.onSubscribe = (names) => client.watch(TypeUrl.Secret, names);
  client.start();
  if (routes.names().length) client.watch(TypeUrl.RouteConfiguration, routes.names());
  if (secrets.subscribedNames().length) client.watch(TypeUrl.Secret, secrets.subscribedNames());
  return { client, close: () => client.close() };
}
