/**
 * A sidecar's (or gateway's) outbound clusters: one per service port, `outbound|<port>||<host>`, plus one
 * per DestinationRule subset, `outbound|<port>|<subset>|<host>`, each carrying the policy that applies to
 * it and the TLS it originates.
 */
import type { JsonObject } from '../../proxy/config/fields.js';
import { isHttp2Family, isHttp, isAuto } from '../../registry/protocol.js';
import { visibleServices, type GenContext } from '../context.js';
import type { MeshService, ServicePort } from '../model.js';
import { clusterName, istioMutualSni } from '../names.js';
import type { DestinationRuleSpec } from '../istio-config.js';
import { applyConnectionPool, applyLoadBalancer, applyOutlierDetection, effectivePolicy, type TrafficPolicy } from './traffic-policy.js';
import { autoMtlsSocketMatches, destinationRuleSocket, istioMutualSocket } from './upstream-tls.js';
import { blackHoleCluster, passthroughCluster } from './special-clusters.js';
import { matchingDistribute, proxyLocalityOf } from '../endpoints/load-assignment.js';
import { parseIstioDuration, toProtoDuration } from '../duration.js';

function edsConfig(name: string): JsonObject {
  return { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name };
}

/** The mesh's dnsRefreshRate (validated as a duration by mesh-config.ts) as Envoy's Duration. */
function dnsRefreshRate(ctx: GenContext): string {
  const seconds = parseIstioDuration(ctx.mesh.dnsRefreshRate ?? '60s', 'dnsRefreshRate');
  // Envoy refuses a zero refresh rate; Istio keeps its default then.
  return seconds > 0 ? toProtoDuration(seconds) : '60s';
}

function clusterType(cluster: JsonObject, svc: MeshService, port: ServicePort, ctx: GenContext, passthroughLb: boolean): void {
  const name = cluster.name as string;
  if (svc.resolution === 'Passthrough' || passthroughLb) {
    cluster.type = 'ORIGINAL_DST';
    cluster.lb_policy = 'CLUSTER_PROVIDED';
    return;
  }
  if (svc.resolution === 'DNS' || svc.resolution === 'DNSRoundRobin') {
    cluster.type = svc.resolution === 'DNS' ? 'STRICT_DNS' : 'LOGICAL_DNS';
    cluster.dns_lookup_family = 'V4_ONLY';
    // Istio: the mesh's dnsRefreshRate (default 60s), and the records' TTL when they carry one.
    cluster.dns_refresh_rate = dnsRefreshRate(ctx);
    cluster.respect_dns_ttl = true;
    const eps = ctx.services.endpoints(svc.hostname, port.port);
    const targets = eps.length ? eps.map((e) => ({ address: e.address, port: e.port })) : [{ address: svc.hostname, port: port.port }];
    cluster.load_assignment = {
      cluster_name: name,
      endpoints: [{ lb_endpoints: targets.map((t) => ({ endpoint: { address: { socket_address: { address: t.address, port_value: t.port } } } })) }],
    };
    return;
  }
  cluster.type = 'EDS';
  cluster.eds_cluster_config = edsConfig(name);
}

/** TLS: the DestinationRule's setting when it has one, else auto mTLS for mesh-internal services. */
function applyTls(cluster: JsonObject, svc: MeshService, port: ServicePort, subset: string, policy: TrafficPolicy, ctx: GenContext, field: string): void {
  const http = isHttp(port.protocol) || isAuto(port.protocol);
  const h2 = isHttp2Family(port.protocol);
  const istioSni = istioMutualSni(port.port, subset, svc.hostname);
  if (policy.tls) {
    const socket = destinationRuleSocket(policy.tls, `${field}.tls`, { sni: svc.hostname, istioSni, serverIdentities: svc.serviceAccounts, http, h2 });
    if (socket) cluster.transport_socket = socket;
    return;
  }
  if (!ctx.mesh.enableAutoMtls || svc.meshExternal) return;
  if (cluster.type === 'ORIGINAL_DST') {
    // No per-endpoint socket matching on ORIGINAL_DST clusters: mTLS for the whole cluster when every
    // endpoint has a sidecar, as Istio infers for headless services.
    const eps = ctx.services.endpoints(svc.hostname, port.port);
    if (eps.length > 0 && eps.every((e) => e.tlsMode === 'istio')) cluster.transport_socket = istioMutualSocket(istioSni, svc.serviceAccounts, http, h2);
    return;
  }
  cluster.transport_socket_matches = autoMtlsSocketMatches(istioSni, svc.serviceAccounts, http, h2);
}

function buildCluster(svc: MeshService, port: ServicePort, subset: string, dr: DestinationRuleSpec | undefined, subsetPolicy: TrafficPolicy | undefined, ctx: GenContext): JsonObject {
  const name = clusterName('outbound', port.port, subset, svc.hostname);
  const policy = effectivePolicy(dr?.trafficPolicy, subsetPolicy, port.port);
  const field = subset ? `spec.subsets[${subset}].trafficPolicy` : 'spec.trafficPolicy';
  const cluster: JsonObject = { name };
  clusterType(cluster, svc, port, ctx, policy.loadBalancer?.simple === 'PASSTHROUGH');
  if (cluster.type !== 'ORIGINAL_DST') applyLoadBalancer(cluster, policy.loadBalancer, `${field}.loadBalancer`);
  if (cluster.type === 'EDS' && matchingDistribute(policy.loadBalancer?.localityLbSetting, proxyLocalityOf(ctx.proxy.labels))) {
    // The load assignment carries per-locality weights; the upstream only honours them with this set.
    cluster.common_lb_config = { ...((cluster.common_lb_config as JsonObject | undefined) ?? {}), locality_weighted_lb_config: {} };
  }
  applyConnectionPool(cluster, policy.connectionPool, `${field}.connectionPool`, isHttp2Family(port.protocol));
  applyOutlierDetection(cluster, policy.outlierDetection, `${field}.outlierDetection`);
  applyTls(cluster, svc, port, subset, policy, ctx, field);
  cluster.metadata = {
    filter_metadata: {
      istio: {
        // Istio names a ServiceEntry service by its host, a Kubernetes one by its short name; the
        // namespace is the resource's, which telemetry reports as destination_service_namespace.
        services: [{ host: svc.hostname, name: svc.source === 'serviceentry' ? svc.hostname : svc.hostname.split('.')[0], namespace: svc.namespace }],
        default_original_port: port.port,
        ...(subset ? { subset } : {}),
      },
    },
  };
  return cluster;
}

export function buildOutboundClusters(ctx: GenContext): JsonObject[] {
  const out: JsonObject[] = [];
  for (const svc of visibleServices(ctx)) {
    const dr = ctx.config.destinationRule(svc.hostname, ctx.proxy.namespace, svc.namespace, ctx.proxy.labels);
    for (const port of svc.ports) {
      if (port.protocol === 'UDP') continue;
      out.push(buildCluster(svc, port, '', dr, undefined, ctx));
      for (const subset of dr?.subsets ?? []) out.push(buildCluster(svc, port, subset.name, dr, subset.trafficPolicy, ctx));
    }
  }
  out.push(passthroughCluster(), blackHoleCluster());
  return out;
}

/** Subset labels of `outbound|port|subset|host`, for filtering endpoints. */
export function subsetLabels(ctx: GenContext, svc: MeshService, subset: string): Record<string, string> | undefined {
  if (!subset) return undefined;
  const dr = ctx.config.destinationRule(svc.hostname, ctx.proxy.namespace, svc.namespace, ctx.proxy.labels);
  return dr?.subsets?.find((s) => s.name === subset)?.labels ?? {};
}
