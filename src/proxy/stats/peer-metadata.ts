/**
 * Istio's HTTP metadata exchange, the data side: this proxy's own header values (encoded once per
 * node) and the peer described by a received header (decoded once per distinct value, cached), so a
 * request pays a map lookup, not a protobuf decode.
 */
import type { NodeInfo } from '../context.js';
import type { PeerInfo } from '../stream-info.js';
import { decodeStruct, encodeStruct, type StructValue } from './peer-metadata-codec.js';

/** The node metadata keys Istio sends to peers (the rest of node metadata stays private). */
const EXCHANGED_KEYS = ['NAME', 'NAMESPACE', 'LABELS', 'WORKLOAD_NAME', 'OWNER', 'CLUSTER_ID', 'MESH_ID', 'SERVICE_ACCOUNT', 'APP_CONTAINERS', 'INSTANCE_IPS', 'ISTIO_VERSION', 'PLATFORM_METADATA'];

export interface LocalPeerHeaders {
  /** `x-envoy-peer-metadata-id`: the node id. */
  readonly id: string;
  /** `x-envoy-peer-metadata`: base64 of the Struct. */
  readonly value: string;
}

const ownHeaders = new WeakMap<NodeInfo, LocalPeerHeaders>();

export function localPeerHeaders(node: NodeInfo): LocalPeerHeaders {
  let h = ownHeaders.get(node);
  if (!h) {
    const md: Record<string, StructValue> = {};
    for (const k of EXCHANGED_KEYS) {
      const v = node.metadata[k];
      if (v !== undefined) md[k] = v as StructValue;
    }
    h = { id: node.id, value: encodeStruct(md).toString('base64') };
    ownHeaders.set(node, h);
  }
  return h;
}

function str(v: unknown, fallback = 'unknown'): string {
  return typeof v === 'string' && v ? v : fallback;
}

/** Istio's workload facts from node metadata: app/version and canonical service from the labels. */
export function peerInfoFromMetadata(md: Readonly<Record<string, unknown>>): PeerInfo {
  const labels = (md.LABELS && typeof md.LABELS === 'object' ? md.LABELS : {}) as Record<string, unknown>;
  const workload = str(md.WORKLOAD_NAME, str(md.NAME));
  const app = str(labels.app ?? labels['app.kubernetes.io/name']);
  const version = str(labels.version ?? labels['app.kubernetes.io/version']);
  return {
    name: str(md.NAME),
    workload,
    namespace: str(md.NAMESPACE),
    app,
    version,
    cluster: str(md.CLUSTER_ID),
    canonicalService: str(labels['service.istio.io/canonical-name'], app !== 'unknown' ? app : workload),
    canonicalRevision: str(labels['service.istio.io/canonical-revision'], version !== 'unknown' ? version : 'latest'),
  };
}

const CACHE_LIMIT = 512;

/**
 * `compute(key)` remembered per key, failures (null) included. Peers are few (one entry per peer pod);
 * a flood of distinct values only resets the cache.
 */
function memo(cache: Map<string, PeerInfo | null>, key: string, compute: (key: string) => PeerInfo | null): PeerInfo | undefined {
  let peer = cache.get(key);
  if (peer === undefined) {
    peer = compute(key);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, peer);
  }
  return peer ?? undefined;
}

function peerOfWorkloadField(w: string): PeerInfo | null {
  const [workload, namespace, cs, cr, cluster] = w.split(';');
  return workload
    ? {
        name: `endpoint:${w}`,
        workload,
        namespace: str(namespace),
        app: str(cs),
        version: str(cr),
        cluster: str(cluster),
        canonicalService: str(cs),
        canonicalRevision: str(cr),
      }
    : null;
}

function peerOfHeaderValue(value: string): PeerInfo | null {
  try {
    return peerInfoFromMetadata(decodeStruct(Buffer.from(value, 'base64')));
  } catch {
    return null;
  }
}

const fromEndpoints = new Map<string, PeerInfo | null>();

/**
 * The upstream peer as the endpoint's Istio metadata names it (`istio.workload` =
 * "workload;namespace;canonical-service;canonical-revision;cluster"), for when no metadata exchange
 * happened: TCP, or a destination without a sidecar.
 */
export function peerFromEndpoint(md: Readonly<Record<string, unknown>> | undefined): PeerInfo | undefined {
  const istio = md?.istio as Record<string, unknown> | undefined;
  const w = istio?.workload;
  if (typeof w !== 'string' || !w) return undefined;
  return memo(fromEndpoints, w, peerOfWorkloadField);
}

const decoded = new Map<string, PeerInfo | null>();

/** The peer a received `x-envoy-peer-metadata` value describes; undefined when it cannot be read. */
export function peerFromHeader(value: string | undefined): PeerInfo | undefined {
  if (!value) return undefined;
  return memo(decoded, value, peerOfHeaderValue);
}
