/**
 * Proxyless gRPC clients (grpc-js-xds and friends) ask for listeners by target (`xds:///reviews:9080`
 * → LDS `reviews:9080`) and understand a subset of Envoy: API listeners with RDS, ROUND_ROBIN or
 * RING_HASH clusters, plaintext. This shapes the same Istio semantics into that subset, as Istio's
 * gRPC generator does.
 */
import type { JsonObject } from '../proxy/config/fields.js';
import { resolveShortnameToFqdn } from '../registry/hostname.js';
import type { GenContext } from './context.js';
import { buildHttpRoutes, defaultRoute } from './routes/http-route.js';
import { routeTargets } from './routes/route-configs.js';
import { clusterName } from './names.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
// gRPC's retry support: anything else in retry_on would make the client reject the route.
const GRPC_RETRY_ON = new Set(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);

function parseTarget(name: string, ctx: GenContext): { host: string; port: number } | undefined {
  const colon = name.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = Number(name.slice(colon + 1));
  if (!Number.isInteger(port)) return undefined;
  return { host: resolveShortnameToFqdn(name.slice(0, colon), ctx.proxy.namespace, ctx.mesh.domain), port };
}

export function proxylessListener(name: string, ctx: GenContext): JsonObject | undefined {
  if (!parseTarget(name, ctx)) return undefined;
  return {
    name,
    api_listener: {
      api_listener: {
        '@type': HCM,
        stat_prefix: name,
        rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: name },
        http_filters: [
          { name: 'envoy.filters.http.fault', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault' } },
          { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
        ],
      },
    },
  };
}

function grpcRoute(route: JsonObject): JsonObject {
  const out: JsonObject = { ...route };
  delete out.decorator;
  delete out.metadata;
  const action = out.route as JsonObject | undefined;
  if (action) {
    const a: JsonObject = { ...action };
    delete a.timeout;
    const retry = a.retry_policy as JsonObject | undefined;
    if (retry) {
      const on = String(retry.retry_on).split(',').filter((r) => GRPC_RETRY_ON.has(r));
      if (on.length) a.retry_policy = { retry_on: on.join(','), num_retries: retry.num_retries, ...(retry.per_try_timeout ? { per_try_timeout: retry.per_try_timeout } : {}) };
      else delete a.retry_policy;
    }
    delete a.hash_policy;
    out.route = a;
  }
  return out;
}

export function proxylessRouteConfig(name: string, ctx: GenContext): JsonObject | undefined {
  const target = parseTarget(name, ctx);
  if (!target) return undefined;
  const vs = ctx.config.virtualServiceForHost(ctx.config.virtualServicesFor(new Set(['mesh']), ctx.proxy.namespace), target.host);
  const decorator = `${target.host}:${target.port}`;
  const routes = vs
    ? buildHttpRoutes(vs.spec.http ?? [], {
        vsName: vs.name,
        vsNamespace: vs.namespace,
        proxy: { gateways: new Set(['mesh']), labels: ctx.proxy.labels, namespace: ctx.proxy.namespace, port: target.port },
        targets: routeTargets(ctx, vs.namespace, target.port),
        decoratorHost: decorator,
      })
    : [defaultRoute(clusterName('outbound', target.port, '', target.host), decorator)];
  return { name, virtual_hosts: [{ name: decorator, domains: [name, decorator], routes: routes.map(grpcRoute) }] };
}

/** Proxyless clusters: the sidecar's, narrowed to what gRPC implements. */
export function proxylessCluster(cluster: JsonObject): JsonObject | undefined {
  if (cluster.type !== 'EDS') return undefined;
  const out: JsonObject = { name: cluster.name, type: 'EDS', eds_cluster_config: cluster.eds_cluster_config };
  out.lb_policy = cluster.lb_policy === 'RING_HASH' ? 'RING_HASH' : 'ROUND_ROBIN';
  if (cluster.ring_hash_lb_config) out.ring_hash_lb_config = cluster.ring_hash_lb_config;
  if (cluster.outlier_detection) out.outlier_detection = cluster.outlier_detection;
  return out;
}
