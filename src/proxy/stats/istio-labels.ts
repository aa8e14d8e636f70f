/**
 * Istio's standard metric labels for one request or connection: our side from this proxy's node
 * metadata, the other side from Istio's metadata exchange (the peer sidecar's node metadata, see
 * peer-metadata.ts) plus what mTLS proves (the peer's SPIFFE identity). Without an exchange (TCP, a
 * destination without a sidecar) the source side falls back on the endpoint's Istio metadata, as
 * Istio does; at the destination the caller is found by its address (peer-discovery.ts), and one
 * unknown there stays "unknown".
 */
import type { NodeInfo } from '../context.js';
import type { PeerInfo, StreamInfo } from '../stream-info.js';
import type { ClusterManager } from '../upstream/api.js';
import { peerFromEndpoint, peerInfoFromMetadata } from './peer-metadata.js';

export interface Workload {
  workload: string;
  namespace: string;
  principal: string;
  app: string;
  version: string;
  cluster: string;
  canonicalService: string;
  canonicalRevision: string;
}

const UNKNOWN_PEER: PeerInfo = Object.freeze({
  name: 'unknown',
  workload: 'unknown',
  namespace: 'unknown',
  app: 'unknown',
  version: 'unknown',
  cluster: 'unknown',
  canonicalService: 'unknown',
  canonicalRevision: 'unknown',
});

const localCache = new WeakMap<NodeInfo, Workload>();

/** This proxy's workload, from Istio's node metadata (WORKLOAD_NAME, NAMESPACE, LABELS, CLUSTER_ID). */
export function localWorkload(node: NodeInfo): Workload {
  let w = localCache.get(node);
  if (!w) {
    const md = node.metadata as Record<string, unknown>;
    const p = peerInfoFromMetadata(md);
    const sa = md.SERVICE_ACCOUNT;
    const ns = md.NAMESPACE;
    const td = typeof md.TRUST_DOMAIN === 'string' && md.TRUST_DOMAIN ? md.TRUST_DOMAIN : 'cluster.local';
    w = { ...p, principal: typeof sa === 'string' && typeof ns === 'string' ? `spiffe://${td}/ns/${ns}/sa/${sa}` : 'unknown' };
    localCache.set(node, w);
  }
  return w;
}

const SPIFFE_NS = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/[^/]+$/;

/** The namespace a SPIFFE identity (spiffe://td/ns/NS/sa/SA) names, if it is one. */
export function spiffeNamespace(uri: string | undefined): string | undefined {
  return uri ? SPIFFE_NS.exec(uri)?.[1] : undefined;
}

/** The peer: metadata exchange for workload facts, the SPIFFE identity for principal and namespace. */
export function peerWorkload(uri: string | undefined, peer?: PeerInfo): Workload {
  const p = peer ?? UNKNOWN_PEER;
  return {
    workload: p.workload,
    namespace: spiffeNamespace(uri) ?? p.namespace,
    principal: uri ?? 'unknown',
    app: p.app,
    version: p.version,
    cluster: p.cluster,
    canonicalService: p.canonicalService,
    canonicalRevision: p.canonicalRevision,
  };
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

export interface ServiceName {
  host: string;
  name: string;
  namespace: string;
}

/**
 * The service as the cluster's Istio metadata names it (`istio.services[0]`: host, name and the
 * namespace of the Service or ServiceEntry), else as the cluster name or authority spells it.
 */
export function serviceOf(info: StreamInfo, clusters?: ClusterManager): ServiceName {
  const md = info.upstreamCluster ? clusters?.get(info.upstreamCluster)?.metadata : undefined;
  const first = ((md?.istio as { services?: unknown } | undefined)?.services as Record<string, unknown>[] | undefined)?.[0];
  if (first && typeof first.host === 'string' && first.host) {
    const name = typeof first.name === 'string' && first.name ? first.name : first.host.split('.')[0];
    const namespace = typeof first.namespace === 'string' && first.namespace ? first.namespace : 'unknown';
    return { host: first.host, name, namespace };
  }
  const host = serviceOfCluster(info.upstreamCluster, info.authority);
  const dot = host.split('.');
  return { host, name: dot[0] || 'unknown', namespace: dot.length > 1 ? dot[1] : 'unknown' };
}

/** What the labels need beyond the stream: the cluster manager (service metadata), a discovered caller. */
export interface LabelSources {
  clusters?: ClusterManager;
  /** The caller as discovered by address (peer-discovery.ts) when no metadata exchange named it. */
  downstreamPeer?: PeerInfo;
}

export type Reporter = 'source' | 'destination';

/** Inbound traffic (Istio's inbound|… clusters) is reported by the destination, the rest by the source. */
export function reporterOf(info: StreamInfo): Reporter {
  return info.upstreamCluster?.startsWith('inbound|') ? 'destination' : 'source';
}

export function istioLabels(node: NodeInfo, info: StreamInfo, extra: Record<string, string>, from: LabelSources = {}): Record<string, string> {
  const reporter = reporterOf(info);
  const service = serviceOf(info, from.clusters);
  let source: Workload;
  let destination: Workload;
  if (reporter === 'source') {
    source = localWorkload(node);
    destination = peerWorkload(info.upstreamPeerUri, info.upstreamPeer ?? peerFromEndpoint(info.upstreamHostMetadata));
    if (destination.namespace === 'unknown') destination.namespace = service.namespace;
  } else {
    source = peerWorkload(info.downstreamPeerUri, info.downstreamPeer ?? from.downstreamPeer);
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
    source_canonical_service: source.canonicalService,
    source_canonical_revision: source.canonicalRevision,
    destination_workload: destination.workload,
    destination_workload_namespace: destination.namespace,
    destination_principal: destination.principal,
    destination_app: destination.app,
    destination_version: destination.version,
    destination_service: service.host,
    destination_service_name: service.name,
    destination_service_namespace: service.namespace !== 'unknown' ? service.namespace : destination.namespace,
    destination_cluster: destination.cluster,
    destination_canonical_service: destination.canonicalService,
    destination_canonical_revision: destination.canonicalRevision,
    response_flags: info.responseFlags.length ? info.responseFlags.join(',') : '-',
    // Istio's source reporter does not know the server's policy: "unknown" there, the mode at the destination.
    connection_security_policy: reporter === 'source' ? 'unknown' : info.downstreamPeerUri ? 'mutual_tls' : 'none',
    ...extra,
  };
}
