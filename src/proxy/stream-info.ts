/**
 * What is known about one HTTP stream or TCP connection, filled in along the way by the
 * listener, the connection manager, the router or tcp_proxy, and read at the end by the access
 * log and the metrics. Field names follow Envoy's access-log operators.
 */

/** Envoy's response flags, as printed in access logs (`%RESPONSE_FLAGS%`). */
export type ResponseFlag =
  | 'NR' // no route
  | 'UH' // no healthy upstream
  | 'UF' // upstream connection failure
  | 'UO' // upstream overflow (circuit breaker)
  | 'URX' // upstream retry limit exceeded
  | 'UT' // upstream request timeout
  | 'UC' // upstream connection termination
  | 'UR' // upstream remote reset
  | 'LR' // local reset
  | 'DC' // downstream connection termination
  | 'DI' // delay injected
  | 'FI' // fault injected
  | 'NC' // no cluster found
  | 'RL' // rate limited
  | 'UAEX' // unauthorized (ext authz / RBAC at the HTTP level uses response code details)
  | 'DPE' // downstream protocol error
  | 'UPE' // upstream protocol error
  | 'SI' // stream idle timeout
  | 'NFCF'; // no filter chain found

export interface StreamInfo {
  startTime: number; // epoch ms
  /** process.hrtime.bigint() at start, for durations. */
  startHr: bigint;
  protocol?: string; // 'HTTP/1.1' | 'HTTP/2' | undefined for TCP
  method?: string;
  path?: string; // the original path (X-Envoy-Original-Path semantics)
  authority?: string;
  userAgent?: string;
  requestId?: string;
  forwardedFor?: string;
  responseCode?: number; // 0 when none was sent
  responseCodeDetails?: string; // e.g. 'via_upstream', 'route_not_found'
  connectionTerminationDetails?: string;
  upstreamTransportFailureReason?: string;
  responseFlags: ResponseFlag[];
  bytesReceived: number;
  bytesSent: number;
  durationMs?: number;
  upstreamServiceTimeMs?: number;
  upstreamHost?: string; // 'ip:port'
  upstreamCluster?: string;
  upstreamLocalAddress?: string;
  downstreamLocalAddress?: string; // 'ip:port' (the original destination when captured)
  downstreamRemoteAddress?: string; // 'ip:port'
  requestedServerName?: string; // SNI
  routeName?: string;
  virtualClusterName?: string;
  /** Peer identity from mTLS (SPIFFE URI), when known. */
  downstreamPeerUri?: string;
  upstreamPeerUri?: string;
  listenerName?: string;
  filterChainName?: string;
  /**
   * Request and response headers by lower-case name, for `%REQ(X)%` / `%RESP(X)%` operators that
   * have no dedicated field above. Set by the connection manager; the access log reads it only.
   */
  requestHeaders?: HeaderLookup;
  responseHeaders?: HeaderLookup;
  responseTrailers?: HeaderLookup;
  /** Upstream attempts made (1 + retries), for `%UPSTREAM_REQUEST_ATTEMPT_COUNT%`. */
  attemptCount?: number;
  /** The other sidecars of the exchange, from Istio's metadata exchange (peer_metadata filter). */
  downstreamPeer?: PeerInfo;
  upstreamPeer?: PeerInfo;
  /** `filter_metadata` of the chosen upstream endpoint (Istio puts the workload there, for telemetry). */
  upstreamHostMetadata?: Readonly<Record<string, unknown>>;
  /** Free-form per-filter state (e.g. Istio metadata exchange, RBAC shadow results). */
  filterState?: Record<string, unknown>;
}

/** A peer workload as Istio's metadata exchange describes it (from the peer's node metadata). */
export interface PeerInfo {
  /** The peer's node NAME (pod name). */
  readonly name: string;
  readonly workload: string;
  readonly namespace: string;
  readonly app: string;
  readonly version: string;
  readonly cluster: string;
  readonly canonicalService: string;
  readonly canonicalRevision: string;
}

/**
 * Header access by lower-case name: the codec's header list (anything with `get`, and `getJoined` for
 * repeated headers), or a plain object of header values.
 */
export type HeaderLookup =
  | { get(name: string): string | undefined; getJoined?(name: string): string | undefined }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export function newStreamInfo(): StreamInfo {
  return { startTime: Date.now(), startHr: process.hrtime.bigint(), responseFlags: [], bytesReceived: 0, bytesSent: 0 };
}

export function addFlag(info: StreamInfo, flag: ResponseFlag): void {
  if (!info.responseFlags.includes(flag)) info.responseFlags.push(flag);
}

/** `%RESPONSE_FLAGS%`: comma-separated, or "-" when none. */
export function formatFlags(info: StreamInfo): string {
  return info.responseFlags.length === 0 ? '-' : info.responseFlags.join(',');
}
