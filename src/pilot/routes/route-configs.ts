/**
 * RDS for sidecars: one RouteConfiguration per outbound HTTP port, named by the port ("9080"), with a
 * virtual host per service on that port (all the names a caller may use for it) carrying either the
 * VirtualService's routes or the default route, and the catch-all `allow_any` (PassthroughCluster) or
 * `block_all` (502) host for everything else, by the outbound traffic policy.
 */
import type { JsonObject } from '../../proxy/config/fields.js';
import { isAuto, isHttp } from '../../registry/protocol.js';
import { resolveShortnameToFqdn, virtualHostDomains } from '../../registry/hostname.js';
import { outboundPolicy, visibleServices, type GenContext } from '../context.js';
import { hashPolicyFor, effectivePolicy } from '../clusters/traffic-policy.js';
import type { IndexedVirtualService } from '../istio-config.js';
import type { MeshService } from '../model.js';
import { ALLOW_ANY_VHOST, BLOCK_ALL_VHOST, PASSTHROUGH_CLUSTER, clusterName } from '../names.js';
import { buildHttpRoutes, defaultRoute, type Destination, type RouteTargets } from './http-route.js';

/** Destination → cluster name, resolving short hosts against the VirtualService's namespace and defaulting the port. */
export function routeTargets(ctx: GenContext, vsNamespace: string, listenerPort: number): RouteTargets {
  const resolve = (d: Destination) => {
    const host = resolveShortnameToFqdn(d.host, vsNamespace, ctx.mesh.domain);
    const svc = ctx.services.service(host);
    // Without a port the destination's only port is meant, or else the port the request came in on.
    const port = d.port?.number ?? (svc && svc.ports.length === 1 ? svc.ports[0].port : listenerPort);
    return { host, svc, port };
  };
  return {
    cluster(d) {
      const { host, port } = resolve(d);
      return clusterName('outbound', port, d.subset ?? '', host);
    },
    hashPolicy(d) {
      const { host, svc, port } = resolve(d);
      const dr = ctx.config.destinationRule(host, ctx.proxy.namespace, svc?.namespace ?? vsNamespace, ctx.proxy.labels);
      if (!dr) return undefined;
      const subsetPolicy = dr.subsets?.find((s) => s.name === d.subset)?.trafficPolicy;
      return hashPolicyFor(effectivePolicy(dr.trafficPolicy, subsetPolicy, port).loadBalancer, 'spec.trafficPolicy.loadBalancer');
    },
  };
}

export function servesHttp(svc: MeshService, port: number): boolean {
  return svc.ports.some((p) => p.port === port && (isHttp(p.protocol) || isAuto(p.protocol)));
}

function headlessDomains(svc: MeshService, ctx: GenContext): string[] {
  if (svc.resolution !== 'Passthrough' || !svc.hostname.endsWith(`.svc.${ctx.mesh.domain}`)) return [];
  // Per-pod names (`peers-0.peers…`) in every form a caller may write them.
  const nameNs = svc.hostname.slice(0, -`.svc.${ctx.mesh.domain}`.length);
  const [name] = nameNs.split('.');
  const forms = [svc.hostname, `${nameNs}.svc`, nameNs];
  if (svc.namespace === ctx.proxy.namespace) forms.push(name);
  return forms.map((f) => `*.${f}`);
}

function virtualHost(svc: MeshService, port: number, vs: IndexedVirtualService | undefined, ctx: GenContext): JsonObject {
  const decorator = `${svc.hostname}:${port}`;
  const domains = [...virtualHostDomains(svc.hostname, port, ctx.proxy.namespace, ctx.mesh.domain, svc.addresses)];
  for (const d of headlessDomains(svc, ctx)) domains.push(d, `${d}:${port}`);
  const targets = routeTargets(ctx, vs?.namespace ?? svc.namespace, port);
  const routes = vs
    ? buildHttpRoutes(vs.spec.http ?? [], {
        vsName: vs.name,
        vsNamespace: vs.namespace,
        proxy: { gateways: ctx.gateways, labels: ctx.proxy.labels, namespace: ctx.proxy.namespace, port },
        targets,
        decoratorHost: decorator,
      })
    : [defaultRoute(clusterName('outbound', port, '', svc.hostname), decorator, targets.hashPolicy?.({ host: svc.hostname, port: { number: port } }))];
  return { name: decorator, domains, routes, include_request_attempt_count: true };
}

function catchAll(ctx: GenContext): JsonObject {
  if (outboundPolicy(ctx) === 'REGISTRY_ONLY') {
    return { name: BLOCK_ALL_VHOST, domains: ['*'], routes: [{ name: BLOCK_ALL_VHOST, match: { prefix: '/' }, direct_response: { status: 502 } }] };
  }
  return {
    name: ALLOW_ANY_VHOST,
    domains: ['*'],
    routes: [{ name: ALLOW_ANY_VHOST, match: { prefix: '/' }, route: { cluster: PASSTHROUGH_CLUSTER, timeout: '0s', max_grpc_timeout: '0s' } }],
    include_request_attempt_count: true,
  };
}

/** The route table for outbound HTTP port `port`. */
export function buildOutboundRouteConfig(port: number, ctx: GenContext): JsonObject {
  const vsList = ctx.config.virtualServicesFor(ctx.gateways, ctx.proxy.namespace);
  const vhosts: JsonObject[] = [];
  const seen = new Set<string>();
  for (const svc of visibleServices(ctx)) {
    if (!servesHttp(svc, port)) continue;
    vhosts.push(virtualHost(svc, port, ctx.config.virtualServiceForHost(vsList, svc.hostname), ctx));
    seen.add(svc.hostname);
  }
  // VirtualService hosts that are no service (or wildcards) still route by Host header.
  for (const vs of vsList) {
    for (const host of vs.hosts) {
      if (seen.has(host) || host === '*') continue;
      const routes = buildHttpRoutes(vs.spec.http ?? [], {
        vsName: vs.name,
        vsNamespace: vs.namespace,
        proxy: { gateways: ctx.gateways, labels: ctx.proxy.labels, namespace: ctx.proxy.namespace, port },
        targets: routeTargets(ctx, vs.namespace, port),
        decoratorHost: `${host}:${port}`,
      });
      if (!routes.length) continue;
      seen.add(host);
      vhosts.push({ name: `${host}:${port}`, domains: [host, `${host}:${port}`], routes, include_request_attempt_count: true });
    }
  }
  vhosts.push(catchAll(ctx));
  return { name: String(port), virtual_hosts: vhosts, validate_clusters: false };
}

/** Outbound HTTP ports of the services this proxy sees: one route table (and listener) each. */
export function outboundHttpPorts(ctx: GenContext): number[] {
  const ports = new Set<number>();
  for (const svc of visibleServices(ctx)) for (const p of svc.ports) if (isHttp(p.protocol) || isAuto(p.protocol)) ports.add(p.port);
  return [...ports].sort((a, b) => a - b);
}
