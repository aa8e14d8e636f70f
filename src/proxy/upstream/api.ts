/**
 * The contract between the request path (router, tcp_proxy) and the upstream side (cluster
 * manager, load balancers, circuit breakers, outlier detection, connection setup). The router
 * only ever holds these interfaces; everything behind them is compiled from Envoy's Cluster and
 * ClusterLoadAssignment config.
 */
import type { Duplex } from 'node:stream';

export interface Locality {
  region: string;
  zone: string;
  subZone: string;
}

export interface Host {
  readonly address: string;
  readonly port: number;
  /** `address:port`, precomputed for logs and headers. */
  readonly addressString: string;
  /** EDS endpoint hostname, if any. */
  readonly hostname?: string;
  readonly weight: number;
  readonly locality: Locality;
  readonly priority: number;
  /** `metadata.filter_metadata` of the endpoint (e.g. `istio.tlsMode`), used by transport-socket matches. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Requests in flight on this host (least-request LB reads it). */
  activeRequests: number;
  /** Connections open to this host. */
  activeConnections: number;
  /** Healthy and not ejected by outlier detection. */
  healthy(): boolean;
}

/** What the load balancer may look at when choosing a host for one request or connection. */
export interface LbContext {
  /**
   * From the route's hash_policy (RING_HASH / MAGLEV): an unsigned 32-bit integer (wider values are
   * reduced modulo 2^32); upstream/hash.ts has hashKey/combineHashes (xxHash64, as Envoy).
   */
  hash?: number;
  /** Hosts already tried by this request (retry_host_predicate previous_hosts). */
  previousHosts?: readonly Host[];
  /** For ORIGINAL_DST clusters: where the downstream connection was going, or the `x-envoy-original-dst-host` header. */
  originalDst?: { address: string; port: number };
  /** Where the downstream client is (source-IP hashing is computed by the caller into `hash`). */
  downstreamAddress?: string;
}

/** A circuit-breaker resource: connections, pending requests, requests or retries. */
export interface Resource {
  readonly max: number;
  readonly active: number;
  canCreate(): boolean;
  inc(): void;
  dec(): void;
}

export interface ResourceManager {
  readonly connections: Resource;
  readonly pendingRequests: Resource;
  readonly requests: Resource;
  readonly retries: Resource;
}

/** What outlier detection is told about each request or connection attempt. */
export type OutlierResult =
  | { kind: 'http'; status: number }
  | { kind: 'connect_failed' }
  | { kind: 'timeout' }
  | { kind: 'reset' }
  | { kind: 'success' };

/** Cluster settings the request path needs, compiled once from the Cluster config. */
export interface ClusterInfo {
  readonly name: string;
  readonly connectTimeoutMs: number;
  /** 0 = unlimited (Envoy's max_requests_per_connection). */
  readonly maxRequestsPerConnection: number;
  /** Upstream protocol: from typed_extension_protocol_options (HttpProtocolOptions) or http2_protocol_options. */
  readonly upstreamProtocol: 'http1' | 'http2' | 'use_downstream';
  /** Idle timeout of upstream HTTP connections in ms (0 = none). */
  readonly idleTimeoutMs: number;
  /** Whether the cluster originates TLS (for x-forwarded-proto, metrics, ALPN). */
  readonly tls: boolean;
  readonly type: 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';
  /** The cluster's lb_policy (hash_policy on a route only matters for RING_HASH and MAGLEV). */
  readonly lbPolicy?: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'CLUSTER_PROVIDED';
  /** common_http_protocol_options.max_connection_duration in ms (0 = none). */
  readonly maxConnectionDurationMs?: number;
  /** per_connection_buffer_limit_bytes (Envoy's default 1 MiB): how much to buffer before pausing a reader. */
  readonly perConnectionBufferLimitBytes?: number;
  /** http2_protocol_options.max_concurrent_streams, when set. */
  readonly http2MaxConcurrentStreams?: number;
  /**
   * ORIGINAL_DST with original_dst_lb_config.use_http_header: the lower-cased header (default
   * `x-envoy-original-dst-host`) whose `ip:port` value the router passes as LbContext.originalDst.
   */
  readonly originalDstHttpHeader?: string;
}

export interface ConnectResult {
  socket: Duplex;
  /** ALPN negotiated with the upstream, when TLS ('h2', 'http/1.1' or undefined). */
  alpn?: string;
  /** The upstream's SPIFFE URI SAN, when TLS and the peer presented one. */
  peerUri?: string;
  localAddress?: string;
  /**
   * Reads arrive through the `onread` callback passed to connect() (into its static buffer), never
   * as 'data' events. Only plain TCP sockets read this way; TLS sockets always emit 'data'.
   */
  staticReads?: boolean;
}

/**
 * net's `onread` for an upstream socket: every read lands in `buffer` and `callback` sees it at once,
 * with no Buffer allocated and no stream event per read. The callback must copy whatever it keeps.
 */
export interface StaticReadOptions {
  /** The buffer, or a function net calls after every read for the buffer of the next one. */
  buffer: Buffer | (() => Buffer);
  /** Returns false to pause reading (as socket.pause()). */
  callback: (bytes: number, buffer: Buffer) => boolean;
}

/**
 * Why Cluster.connect failed, on the Error it passes: `timeout` (connect_timeout, Envoy's UF with
 * upstream_cx_connect_timeout), `connection_failure` (refused/reset/unreachable) or `tls` (handshake or
 * SAN verification). `transportFailureReason` is the text for %UPSTREAM_TRANSPORT_FAILURE_REASON%.
 */
export interface ConnectFailure extends Error {
  readonly failure: 'timeout' | 'connection_failure' | 'tls';
  readonly transportFailureReason: string;
}

export interface Cluster {
  readonly info: ClusterInfo;
  readonly resources: ResourceManager;
  /**
   * Counters and gauges named `cluster.<name>.<stat>` (upstream_rq_total, upstream_rq_pending_overflow,
   * upstream_cx_active, upstream_rq_retry, …), looked up once here so the request path only bumps fields.
   */
  readonly stats: ClusterStats;
  /** Picks a healthy host, or null when there is none (the caller answers 503 UH / "no healthy upstream"). */
  chooseHost(ctx: LbContext): Host | null;
  /**
   * Opens a connection to the host, applying the connect timeout, the transport socket (TLS with SNI,
   * SAN verification, ALPN from `alpn`) and connection stats. Calls back once.
   * It counts the connection itself (resources.connections, host.activeConnections, upstream_cx_*) until
   * the socket closes, and reports connect failures/timeouts to outlier detection; callers check
   * `resources.connections.canCreate()` first (and bump upstream_cx_overflow when not), and do not
   * report connect failures again. On failure the Error is a ConnectFailure.
   */
  connect(host: Host, alpn: readonly string[] | undefined, cb: (err: Error | null, result?: ConnectResult) => void, onread?: StaticReadOptions): void;
  /**
   * Feeds outlier detection and the host's request counters. `connect_failed` is accepted but not
   * counted again: connect() reports its own failures.
   */
  reportResult(host: Host, result: OutlierResult): void;
  /** The cluster's `metadata.filter_metadata` (Istio's `istio.services` names the service, for telemetry). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface ClusterStats {
  upstream_rq_total: { inc(n?: number): void };
  upstream_rq_active: { inc(n?: number): void; dec(n?: number): void };
  upstream_rq_pending_total: { inc(n?: number): void };
  upstream_rq_pending_active: { inc(n?: number): void; dec(n?: number): void };
  upstream_rq_pending_overflow: { inc(n?: number): void };
  upstream_rq_timeout: { inc(n?: number): void };
  upstream_rq_retry: { inc(n?: number): void };
  upstream_rq_retry_success: { inc(n?: number): void };
  upstream_rq_retry_overflow: { inc(n?: number): void };
  upstream_rq_per_try_timeout: { inc(n?: number): void };
  upstream_cx_total: { inc(n?: number): void };
  upstream_cx_active: { inc(n?: number): void; dec(n?: number): void };
  upstream_cx_connect_fail: { inc(n?: number): void };
  upstream_cx_connect_timeout: { inc(n?: number): void };
  upstream_cx_overflow: { inc(n?: number): void };
  upstream_cx_destroy: { inc(n?: number): void };
  upstream_rq_2xx: { inc(n?: number): void };
  upstream_rq_3xx: { inc(n?: number): void };
  upstream_rq_4xx: { inc(n?: number): void };
  upstream_rq_5xx: { inc(n?: number): void };
  upstream_cx_none_healthy: { inc(n?: number): void };
  upstream_rq_time: { record(ms: number): void };
  /** Any other per-cluster stat by its suffix. */
  other(suffix: string): { inc(n?: number): void };
}

export interface ClusterManager {
  /** The current cluster of that name; callers look it up per request so updates take effect at once. */
  get(name: string): Cluster | undefined;
  /**
   * Moves on whenever endpoints may have changed (EDS update, cluster added or removed), so readers
   * can keep an index of them and rebuild it only then (telemetry's peer-by-address lookup).
   */
  readonly endpointsVersion?: number;
  /** Every endpoint of every cluster with a fixed host set (not ORIGINAL_DST): address and filter metadata. */
  forEachEndpoint?(fn: (address: string, metadata: Readonly<Record<string, unknown>>) => void): void;
}
