/**
 * Istio's peer discovery by address (the peer_metadata filter's workload_discovery): when a caller
 * sent no metadata (any TCP connection, an HTTP request without `x-envoy-peer-metadata`), the
 * destination names it from the workload that owns its IP. The workloads come from the endpoints this
 * proxy already holds, with the `istio.workload` metadata the control plane puts on them; in the mesh a
 * sidecar-to-sidecar connection arrives from the source pod's IP.
 *
 * The IP alone is only trusted as far as mTLS allows: when the caller proved an identity, a workload
 * in another namespace than the certificate's is not believed (the principal stays, the workload
 * labels stay unknown).
 */
import type { ProxyContext } from '../context.js';
import { plainIp } from '../listener/address.js';
import type { PeerInfo, StreamInfo } from '../stream-info.js';
import type { ClusterManager } from '../upstream/api.js';
import { spiffeNamespace } from './istio-labels.js';
import { peerFromEndpoint } from './peer-metadata.js';

interface AddressIndex {
  version: number;
  /** null: the IP belongs to more than one workload (host network, reused IPs), so it names none. */
  byIp: Map<string, PeerInfo | null>;
}

const indexes = new WeakMap<ClusterManager, AddressIndex>();

/** Rebuilt on the first lookup after endpoints changed, so a burst of EDS pushes costs one rebuild. */
function indexOf(clusters: ClusterManager): AddressIndex | undefined {
  const version = clusters.endpointsVersion;
  if (version === undefined || !clusters.forEachEndpoint) return undefined;
  let idx = indexes.get(clusters);
  if (idx && idx.version === version) return idx;
  const byIp = new Map<string, PeerInfo | null>();
  clusters.forEachEndpoint((address, metadata) => {
    const peer = peerFromEndpoint(metadata);
    if (!peer) return;
    const seen = byIp.get(address);
    if (seen === undefined) byIp.set(address, peer);
    else if (seen !== null && (seen.workload !== peer.workload || seen.namespace !== peer.namespace)) byIp.set(address, null);
  });
  idx = { version, byIp };
  indexes.set(clusters, idx);
  return idx;
}

/** The IP of `ip:port` / `[v6]:port`, without the IPv4-mapped prefix Node gives dual-stack sockets. */
export function ipOfAddress(address: string): string {
  let ip = plainIp(address.startsWith('[') ? address.slice(1, address.indexOf(']')) : address);
  // Only an IPv4 address has one colon before its port (IPv6 ones come bracketed).
  const colon = ip.lastIndexOf(':');
  if (colon > 0 && ip.indexOf(':') === colon) ip = ip.slice(0, colon);
  return ip;
}

/** The workload that owns this IP among the endpoints the proxy knows, if exactly one does. */
export function peerByAddress(clusters: ClusterManager, ip: string): PeerInfo | undefined {
  return indexOf(clusters)?.byIp.get(ip) ?? undefined;
}

/**
 * The caller: from the metadata exchange when there was one, else from its address when that names a
 * workload agreeing with the caller's mTLS identity (when there is one).
 */
export function downstreamPeerOf(ctx: ProxyContext, info: StreamInfo): PeerInfo | undefined {
  if (info.downstreamPeer || !info.downstreamRemoteAddress) return info.downstreamPeer;
  const peer = peerByAddress(ctx.clusters, ipOfAddress(info.downstreamRemoteAddress));
  if (!peer) return undefined;
  if (info.downstreamPeerUri !== undefined && spiffeNamespace(info.downstreamPeerUri) !== peer.namespace) return undefined;
  return peer;
}
