/**
 * Istio's Pilot as an XdsGenerator: for each connected proxy, listeners, routes, clusters, endpoints and
 * secrets computed from the current snapshot (services, Istio config, mesh settings). The ADS server
 * asks per type; everything else (versions, ACK/NACK, debounce) is the server's business.
 */
import type { LoadedResource } from '../config/resource.js';
import type { JsonObject } from '../proxy/config/fields.js';
import type { ConnectedProxy, GeneratedResource, XdsGenerator } from '../xds/generator.js';
import { TypeUrl, type XdsTypeUrl } from '../xds/protos.js';
import { buildOutboundClusters, subsetLabels } from './clusters/outbound-clusters.js';
import { inboundCluster, inboundPassthroughCluster } from './clusters/special-clusters.js';
import { effectivePolicy } from './clusters/traffic-policy.js';
import type { GenContext, MeshSettings } from './context.js';
import { buildLoadAssignment, proxyLocalityOf } from './endpoints/load-assignment.js';
import type { IstioConfig } from './istio-config.js';
import { buildGatewayListeners, gatewayKeys } from './listeners/gateway.js';
import { buildInboundListener, inboundHttp2 } from './listeners/inbound.js';
import { buildOutboundListeners } from './listeners/outbound.js';
import { EXPLICIT_ROUTE_CONFIG, appPortFor, explicitRouteConfig, explicitSidecarListeners, isExplicit, rebindToProxyAddress } from './listeners/explicit.js';
import type { ServiceView } from './model.js';
import { parseClusterName } from './names.js';
import { parseProxyInfo, type ProxyInfo } from './proxy-info.js';
import { PushCache } from './push-cache.js';
import { sharedRouteConfig } from './route-tables.js';
import { proxylessCluster, proxylessListener, proxylessRouteConfig } from './proxyless.js';
import { buildGatewayRouteConfig } from './routes/gateway-routes.js';
import { buildOutboundRouteConfig } from './routes/route-configs.js';
import { CACERT_SUFFIX, CREDENTIAL_PREFIX, credentialSecret } from './secrets/credentials.js';

/** One consistent view of the mesh; replaced whole on every change. */
export interface PilotSnapshot {
  services: ServiceView;
  config: IstioConfig;
  mesh: MeshSettings;
  secrets: readonly LoadedResource[];
}

const PROXY_INFO = Symbol('pilot.proxyInfo');

function named(list: JsonObject[]): GeneratedResource[] {
  return list.map((r) => ({ name: r.name as string, resource: r }));
}


export class PilotGenerator implements XdsGenerator {
  /** What sidecars of the same scope share within a push (and unchanged resources across pushes). */
  readonly cache = new PushCache();

  constructor(private snapshot: () => PilotSnapshot) {}

  /** The config changed in objects of these kinds (lets caches that do not depend on them survive). */
  configChanged(kinds: Iterable<string>): void {
    this.cache.configChanged(kinds);
  }

  /** The endpoints of these services changed, nothing else: their endpoint assignments are built again. */
  endpointsChanged(hostnames: ReadonlySet<string>): void {
    this.cache.endpointsChanged(hostnames);
  }

  proxyInfo(proxy: ConnectedProxy): ProxyInfo {
    let info = proxy.scratch.get(PROXY_INFO) as ProxyInfo | undefined;
    if (!info) {
      info = parseProxyInfo(proxy.id, proxy.metadata as Record<string, unknown>);
      proxy.scratch.set(PROXY_INFO, info);
    }
    return info;
  }

  context(proxy: ConnectedProxy): GenContext {
    const snap = this.snapshot();
    const info = this.proxyInfo(proxy);
    const ctx: GenContext = { proxy: info, services: snap.services, config: snap.config, mesh: snap.mesh, gateways: new Set(['mesh']) };
    if (info.type === 'router') ctx.gateways = gatewayKeys(ctx);
    // A pod's labels in the registry win over what its proxy said at start (labels can change).
    const podLabels = info.ips.length ? snap.services.podLabels(info.ips[0]) : undefined;
    if (podLabels) ctx.proxy = { ...info, labels: { ...info.labels, ...podLabels } };
    return ctx;
  }

  generate(proxy: ConnectedProxy, typeUrl: XdsTypeUrl, names: readonly string[]): GeneratedResource[] {
    const ctx = this.context(proxy);
    this.cache.begin(ctx);
    switch (typeUrl) {
      case TypeUrl.Cluster:
        if (ctx.proxy.type === 'proxyless') return named(buildOutboundClusters(ctx).map(proxylessCluster).filter((c): c is JsonObject => !!c));
        return named(this.clusters(ctx));
      case TypeUrl.ClusterLoadAssignment:
        return names.map((n) => this.loadAssignment(ctx, n)).filter((r): r is GeneratedResource => !!r);
      case TypeUrl.Listener:
        if (ctx.proxy.type === 'proxyless') return named(names.map((n) => proxylessListener(n, ctx)).filter((l): l is JsonObject => !!l));
        return named(this.listeners(ctx));
      case TypeUrl.RouteConfiguration:
        return names.map((n) => this.routeConfig(ctx, n)).filter((r): r is GeneratedResource => !!r);
      case TypeUrl.Secret:
        return names.map((n) => this.secret(ctx, n)).filter((r): r is GeneratedResource => !!r);
      default:
        return [];
    }
  }

  private instances(ctx: GenContext) {
    return ctx.proxy.ips.flatMap((ip) => ctx.services.instancesOf(ip));
  }

  clusters(ctx: GenContext): JsonObject[] {
    if (ctx.proxy.type !== 'sidecar') return buildOutboundClusters(ctx);
    // Outbound clusters are shared by the proxy's scope; inbound ones are the pod's own.
    const out = [...this.cache.list('clusters', ctx, () => buildOutboundClusters(ctx))];
    const seen = new Set<number>();
    for (const inst of this.instances(ctx)) {
      if (seen.has(inst.targetPort)) continue;
      seen.add(inst.targetPort);
      out.push(this.cache.intern(inboundCluster(inst.targetPort, appPortFor(ctx, inst.targetPort), inboundHttp2(inst))));
    }
    out.push(this.cache.intern(inboundPassthroughCluster()));
    return out;
  }

  listeners(ctx: GenContext): JsonObject[] {
    if (ctx.proxy.type === 'router') {
      const listeners = buildGatewayListeners(ctx, this.brokenCredentials(ctx));
      return isExplicit(ctx) ? rebindToProxyAddress(ctx, listeners) : listeners;
    }
    if (ctx.proxy.type === 'proxyless') return [];
    if (isExplicit(ctx)) return explicitSidecarListeners(ctx, buildInboundListener(ctx, this.instances(ctx)));
    // Inbound is per pod (its ports, its policies); outbound is shared by the proxy's scope.
    return [...this.cache.list('listeners', ctx, () => buildOutboundListeners(ctx)), this.cache.intern(buildInboundListener(ctx, this.instances(ctx)))];
  }

  routeConfig(ctx: GenContext, name: string): GeneratedResource | undefined {
    const rc =
      ctx.proxy.type === 'router'
        ? buildGatewayRouteConfig(name, ctx)
        : ctx.proxy.type === 'proxyless'
          ? proxylessRouteConfig(name, ctx)
          : name === EXPLICIT_ROUTE_CONFIG && isExplicit(ctx)
            ? explicitRouteConfig(ctx)
            : /^\d+$/.test(name)
            ? this.outboundRoutes(ctx, name)
            : undefined;
    return rc ? { name, resource: rc } : undefined;
  }

  /** A sidecar's route table, shared by its scope; assembled from the mesh-wide one when namespaces do not matter. */
  private outboundRoutes(ctx: GenContext, name: string): JsonObject | undefined {
    const port = Number(name);
    if (this.cache.namespaceFree) return this.cache.named('routes', ctx, name, () => sharedRouteConfig(port, ctx, this.cache), false);
    return this.cache.named('routes', ctx, name, () => buildOutboundRouteConfig(port, ctx));
  }

  loadAssignment(ctx: GenContext, name: string): GeneratedResource | undefined {
    if (ctx.proxy.type !== 'sidecar') return this.buildLoadAssignment(ctx, name);
    const resource = this.cache.named('endpoints', ctx, name, () => this.buildLoadAssignment(ctx, name)?.resource as JsonObject | undefined);
    return resource && { name, resource };
  }

  private buildLoadAssignment(ctx: GenContext, name: string): GeneratedResource | undefined {
    const parsed = parseClusterName(name);
    if (!parsed || parsed.direction !== 'outbound') return undefined;
    const svc = ctx.services.service(parsed.hostname);
    if (!svc) return { name, resource: { cluster_name: name, endpoints: [] } };
    const dr = ctx.config.destinationRule(svc.hostname, ctx.proxy.namespace, svc.namespace, ctx.proxy.labels);
    const subsetPolicy = dr?.subsets?.find((s) => s.name === parsed.subset)?.trafficPolicy;
    const policy = effectivePolicy(dr?.trafficPolicy, subsetPolicy, parsed.port);
    const cla = buildLoadAssignment(name, ctx.services.endpoints(svc.hostname, parsed.port), subsetLabels(ctx, svc, parsed.subset), {
      proxyLocality: proxyLocalityOf(ctx.proxy.labels),
      setting: policy.loadBalancer?.localityLbSetting,
      outlierDetection: !!policy.outlierDetection,
    });
    return { name, resource: cla };
  }

  /** Credential names of this gateway's servers that cannot be served (missing or malformed Secret). */
  brokenCredentials(ctx: GenContext): Set<string> {
    const snap = this.snapshot();
    const broken = new Set<string>();
    for (const gw of ctx.config.gatewaysFor(ctx.proxy.labels, ctx.proxy.namespace)) {
      for (const s of gw.spec.servers ?? []) {
        const cred = s.tls?.credentialName;
        if (!cred) continue;
        const name = `${CREDENTIAL_PREFIX}${cred}`;
        if (credentialSecret(name, ctx.proxy.namespace, snap.secrets).problem) broken.add(name);
        if ((s.tls?.mode === 'MUTUAL' || s.tls?.mode === 'OPTIONAL_MUTUAL') && credentialSecret(`${name}${CACERT_SUFFIX}`, ctx.proxy.namespace, snap.secrets).problem) broken.add(name);
      }
    }
    return broken;
  }

  secret(ctx: GenContext, name: string): GeneratedResource | undefined {
    const { secret } = credentialSecret(name, ctx.proxy.namespace, this.snapshot().secrets);
    return secret ? { name, resource: secret } : undefined;
  }
}
