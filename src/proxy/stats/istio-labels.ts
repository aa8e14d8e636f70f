/**
 * Istio's standard metric labels for one request or connection, from this proxy's node metadata
 * (our side) and what the stream learned about the other side (cluster name, peer SPIFFE identity).
 * Peer workload names come from Istio's metadata exchange, which Sailfin does not do, so they are
 * "unknown" except what the peer's SPIFFE identity tells (namespace, principal).
 */
import type { NodeInfo } from '../context.js';
import type { StreamInfo } from '../stream-info.js';

export interface Workload {
  workload: string;
  namespace: string;
  principal: string;
  app: string;
  version: string;
  cluster: string;
}

function str(v: unknown, fallback = 'unknown'): string {
  return typeof v === 'string' && v ? v : fallback;
}

/** This proxy's workload, from Istio's node metadata (WORKLOAD_NAME, NAMESPACE, LABELS, CLUSTER_ID). */
export function localWorkload(node: NodeInfo): Workload {
  const md = node.metadata as Record<string, unknown>;
  const labels = (md.LABELS ?? {}) as Record<string, unknown>;
  const sa = md.SERVICE_ACCOUNT;
  const ns = md.NAMESPACE;
  const td = str(md.TRUST_DOMAIN, 'cluster.local');
  return {
    workload: str(md.WORKLOAD_NAME),
    namespace: str(ns),
    principal: typeof sa === 'string' && typeof ns === 'string' ? `spiffe://${td}/ns/${ns}/sa/${sa}` : 'unknown',
    app: str(labels.app ?? labels['app.kubernetes.io/name']),
    version: str(labels.version ?? labels['app.kubernetes.io/version']),
    cluster: str(md.CLUSTER_ID),
  };
}

/** What a SPIFFE identity (spiffe://td/ns/NS/sa/SA) says about the peer. */
export function peerWorkload(uri: string | undefined): Workload {
  const m = uri ? /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri) : null;
  return { workload: 'unknown', namespace: m ? m[1] : 'unknown', principal: uri ?? 'unknown', app: 'unknown', version: 'unknown', cluster: 'unknown' };
}

/** `outbound|9080|v1|reviews.default.svc.cluster.local` → the service host; inbound clusters name none. */
export function serviceOfCluster(cluster: string | undefined, authority: string | undefined): string {
  if (cluster) {
    const parts = cluster.split('|');
    if (parts.length === 4 && parts[3]) return parts[3];
    if (parts.length < 2 && cluster) return cluster;
  }
  if (authority) {
    const i = authority.lastIndexOf(':');
    return i > 0 && !authority.includes(']', i) ? authority.slice(0, i) : authority;
  }
  return 'unknown';
}

export type Reporter = 'source' | 'destination';

/** Inbound traffic (Istio's inbound|… clusters) is reported by the destination, the rest by the source. */
export function reporterOf(info: StreamInfo): Reporter {
  return info.upstreamCluster?.startsWith('inbound|') ? 'destination' : 'source';
}

export function istioLabels(node: NodeInfo, info: StreamInfo, extra: Record<string, string>): Record<string, string> {
  const reporter = reporterOf(info);
  const service = serviceOfCluster(info.upstreamCluster, info.authority);
  const dot = service.split('.');
  let source: Workload;
  let destination: Workload;
  if (reporter === 'source') {
    source = localWorkload(node);
    destination = peerWorkload(info.upstreamPeerUri);
    if (destination.namespace === 'unknown' && dot.length > 1) destination.namespace = dot[1];
  } else {
    source = peerWorkload(info.downstreamPeerUri);
    destination = localWorkload(node);
  }
  return {
    reporter,
    source_workload: source.workload,
    source_workload_namespace: source.namespace,
    source_principal: source.principal,
    source_app: source.app,
    source_version: source.version,
    source_cluster: source.cluster,
    destination_workload: destination.workload,
    destination_workload_namespace: destination.namespace,
    destination_principal: destination.principal,
    destination_app: destination.app,
    destination_version: destination.version,
    destination_service: service,
    destination_service_name: dot[0] || 'unknown',
    destination_service_namespace: dot.length > 1 ? dot[1] : destination.namespace,
    destination_cluster: destination.cluster,
    response_flags: info.responseFlags.length ? info.responseFlags.join(',') : '-',
    connection_security_policy: (reporter === 'source' ? info.upstreamPeerUri : info.downstreamPeerUri) ? 'mutual_tls' : 'none',
    ...extra,
  };
}
