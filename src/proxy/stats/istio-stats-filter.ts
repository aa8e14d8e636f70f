/**
 * Istio's `istio.stats` filter (`type.googleapis.com/stats.PluginConfig`, bare or in a TypedStruct, which
 * this file unwraps for any filter):
 * as an HTTP filter it records istio_requests_total, istio_request_duration_milliseconds,
 * istio_request_bytes and istio_response_bytes when the response headers go out; as a network filter
 * in front of tcp_proxy it turns on the istio_tcp_* metrics for the connection.
 *
 * The HTTP filter sees a stream when its response headers are written, so the duration is the time to
 * the response headers and the sizes come from content-length (chunked bodies count as 0).
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { assertKnownFields, configError, isObject, join, optString, unsupported, type JsonObject } from '../config/fields.js';
import type { ProxyContext } from '../context.js';
import { networkFilterFactory, registerNetworkFilter, type DownstreamConnection, type NetworkFilter } from '../listener/connection.js';
import type { ActiveStream } from '../http/active-stream.js';
import { httpFilterFactory, registerHttpFilter } from '../http/filter-registry.js';
import { FilterStatus, type HttpFilter } from '../http/http-filter.js';
import type { HeaderList } from '../http/headers.js';
import type { Counter, Histogram } from './store.js';
import { istioLabels, reporterOf } from './istio-labels.js';
import { downstreamPeerOf } from './peer-discovery.js';

export const STATS_PLUGIN_TYPE = 'type.googleapis.com/stats.PluginConfig';
const TYPED_STRUCTS = ['type.googleapis.com/udpa.type.v1.TypedStruct', 'type.googleapis.com/xds.type.v3.TypedStruct'];

/** Envoy/Istio's default buckets for request durations (ms) and sizes (bytes). */
const DURATION_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
const SIZE_BUCKETS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

const PLUGIN_FIELDS = ['@type', 'disable_host_header_fallback', 'tcp_reporting_duration', 'metrics', 'definitions', 'reporter', 'rotation_interval', 'graceful_deletion_interval'];

function pluginConfig(typed: JsonObject, path: string): JsonObject {
  assertKnownFields(typed, PLUGIN_FIELDS, path);
  return typed;
}

/**
 * A TypedStruct (how Istio ships its own filters' configs to a proxy that may lack their protos) is
 * unwrapped and compiled by whichever filter registered the inner type URL.
 */
function unwrapTypedStruct(typed: JsonObject, path: string): { inner: string; value: JsonObject; path: string } {
  assertKnownFields(typed, ['@type', 'type_url', 'value'], path);
  const inner = optString(typed, 'type_url', path);
  if (!inner) throw configError(join(path, 'type_url'), 'required field is missing');
  const value = isObject(typed.value) ? typed.value : {};
  return { inner, value: { ...value, '@type': inner }, path: join(path, 'value') };
}

interface Series {
  requests: Counter;
  duration: Histogram;
  requestBytes: Histogram;
  responseBytes: Histogram;
}

function contentLength(h: HeaderList | undefined): number {
  const v = h?.get('content-length');
  const n = v === undefined ? 0 : Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

type Level = Map<unknown, unknown>;

/** The next level of a key tree, made on first use. */
function level(m: Level, k: unknown): Level {
  let next = m.get(k) as Level | undefined;
  if (!next) m.set(k, (next = new Map()));
  return next;
}

/** Bounded: a pathological mix of labels resets the cache rather than growing memory without end. */
const SERIES_LIMIT = 10_000;

class IstioStatsHttpFilter implements HttpFilter {
  /**
   * Label sets repeat (same cluster, peer, code), so series are cached by the inputs the labels are
   * made from, one Map level per input: a request looks its series up without building a key string
   * (that string, ~300 characters from ten parts, was most of this filter's allocation per request).
   */
  private series: Level = new Map();
  private seriesCount = 0;

  constructor(
    readonly name: string,
    private readonly ctx: ProxyContext,
  ) {}

  decodeHeaders(_stream: ActiveStream): FilterStatus {
    return FilterStatus.Continue;
  }

  encodeHeaders(stream: ActiveStream, status: number, headers: HeaderList): void {
    const info = stream.info;
    // undefined: plain HTTP; otherwise the gRPC status ('-' when the response carries none).
    const grpc = stream.grpc ? (headers.get('grpc-status') ?? '-') : undefined;
    // A caller that sent no metadata header is looked up by its address (not stored on the stream:
    // peer_metadata answers only callers that introduced themselves). The source reporter's labels
    // never name the caller, so it stays out of the key there: a gateway's many callers share series.
    const caller = reporterOf(info) === 'destination' ? downstreamPeerOf(this.ctx, info) : undefined;
    const flags = info.responseFlags.length === 0 ? '' : info.responseFlags.join(',');
    const upstreamWorkload = info.upstreamPeer?.name ?? (info.upstreamHostMetadata?.istio as { workload?: string } | undefined)?.workload;
    let m = level(level(level(level(this.series, status), info.upstreamCluster), info.authority), flags);
    m = level(level(level(level(m, info.downstreamPeerUri), info.upstreamPeerUri), caller?.name), upstreamWorkload);
    let s = m.get(grpc) as Series | undefined;
    if (!s) {
      const protocol = grpc === undefined ? 'http' : 'grpc';
      const grpcLabel = grpc === undefined || grpc === '-' ? '' : grpc;
      const labels = istioLabels(this.ctx.node, info, { request_protocol: protocol, response_code: String(status), grpc_response_status: grpcLabel }, { clusters: this.ctx.clusters, downstreamPeer: caller });
      const st = this.ctx.stats;
      s = {
        requests: st.counter('istio_requests_total', labels),
        duration: st.histogram('istio_request_duration_milliseconds', labels, DURATION_BUCKETS),
        requestBytes: st.histogram('istio_request_bytes', labels, SIZE_BUCKETS),
        responseBytes: st.histogram('istio_response_bytes', labels, SIZE_BUCKETS),
      };
      if (++this.seriesCount > SERIES_LIMIT) {
        this.series = new Map();
        this.seriesCount = 0;
      } else m.set(grpc, s);
    }
    s.requests.inc();
    s.duration.record(Number(process.hrtime.bigint() - info.startHr) / 1e6);
    s.requestBytes.record(Math.max(info.bytesReceived, contentLength(stream.headers)));
    s.responseBytes.record(contentLength(headers));
  }
}

/** Sockets whose chain has the istio.stats network filter (tcp_proxy reports istio_tcp_* for them). */
const tcpReported = new WeakSet<Socket | TLSSocket>();

export function tcpTelemetryEnabled(conn: DownstreamConnection): boolean {
  return tcpReported.has(conn.socket);
}

class IstioStatsNetworkFilter implements NetworkFilter {
  onNewConnection(conn: DownstreamConnection): boolean {
    tcpReported.add(conn.socket);
    return true;
  }
}

registerHttpFilter(STATS_PLUGIN_TYPE, (json, ctx, path, name) => {
  pluginConfig(json, path);
  return new IstioStatsHttpFilter(name, ctx);
});
registerNetworkFilter(STATS_PLUGIN_TYPE, (json, _ctx, path) => {
  pluginConfig(json, path);
  return new IstioStatsNetworkFilter();
});
for (const t of TYPED_STRUCTS) {
  registerHttpFilter(t, (json, ctx, path, name) => {
    const u = unwrapTypedStruct(json, path);
    const factory = httpFilterFactory(u.inner);
    if (!factory || TYPED_STRUCTS.includes(u.inner)) throw unsupported(join(path, 'type_url'), `HTTP filter ${JSON.stringify(u.inner)} is not supported by Sailfin`);
    return factory(u.value, ctx, u.path, name);
  });
  registerNetworkFilter(t, (json, ctx, path) => {
    const u = unwrapTypedStruct(json, path);
    const factory = networkFilterFactory(u.inner);
    if (!factory || TYPED_STRUCTS.includes(u.inner)) throw unsupported(join(path, 'type_url'), `network filter ${JSON.stringify(u.inner)} is not supported by Sailfin`);
    return factory(u.value, ctx, u.path);
  });
}
