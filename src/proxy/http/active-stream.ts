/**
 * One HTTP request/response exchange inside the connection manager: it adds what Envoy adds to the
 * request (x-request-id, x-forwarded-for/-proto, XFCC), snapshots the route table, runs the HTTP
 * filters, carries the body between the downstream codec and the router, applies the response
 * header policies, sends local replies, and logs and counts the stream when it ends.
 */
import type { DownstreamConnection } from '../listener/connection.js';
import { logAll } from '../stats/access-log.js';
import { addFlag, type ResponseFlag, type StreamInfo } from '../stream-info.js';
import { cancelDeadline, deadlineQueue, type Deadline } from './deadline-queue.js';
import { normalizePath, prepareRequestHeaders, stripPort } from './request-headers.js';
import type { DownstreamCodecStream } from './downstream-codec.js';
import type { HcmConfig } from './hcm-config.js';
import type { HeaderList } from './headers.js';
import { FilterStatus } from './http-filter.js';
import { buildLocalReply, isGrpcRequest } from './local-reply.js';
import type { RouteRequest } from './matchers.js';
import type { CompiledRouteConfig, Route } from './route-config.js';
import type { Router } from './router.js';
import type { ActiveSpan } from '../tracing/span.js';

/** Request bodies waiting for the router are bounded; past this the downstream is paused. */
const PENDING_BODY_LIMIT = 1024 * 1024;

export class ActiveStream implements RouteRequest {
  readonly info: StreamInfo;
  method: string;
  path: string;
  host: string;
  scheme: string;
  headers: HeaderList;
  readonly grpc: boolean;
  routeConfig: CompiledRouteConfig | undefined;
  route: Route | undefined;
  /** Set by the router filter; receives the request body. */
  router: Router | undefined;
  /** Per-stream state of the CORS filter: the allowed origin to echo, if any. */
  corsOrigin: string | undefined;
  corsPolicy: unknown;
  /** This hop's trace span, when the HCM traces. */
  span: ActiveSpan | undefined = undefined;
  /** Extra response headers decided during decoding (e.g. Set-Cookie from a hash policy). */
  pendingResponseHeaders: string[] | undefined;
  requestComplete = false;
  responseStarted = false;
  done = false;
  private filterIndex = 0;
  private pendingBody: Buffer[] | undefined;
  private pendingBytes = 0;
  private pendingTrailers: HeaderList | undefined;
  private requestTimer: Deadline | undefined;
  private idleTimer: Deadline | undefined;
  private timers: NodeJS.Timeout[] | undefined;
  /** Bumped on every read/write; the idle checks compare it (cheaper than a clock read or refresh() per event). */
  activity = 0;
  private activityAtCheck = 0;
  /** performance.now() at the last idle check that saw activity (or when the stream started). */
  private activeAt = 0;
  /** The stream idle timeout in force: the route's idle_timeout, else the HCM's. */
  private idleTimeoutMs = 0;

  constructor(
    readonly hcm: HcmConfig,
    readonly conn: DownstreamConnection,
    readonly codec: DownstreamCodecStream,
    method: string,
    path: string,
    authority: string,
    headers: HeaderList,
    /** The request carries no body (headers ended the stream). */
    endStream: boolean,
  ) {
    this.method = method;
    this.path = path;
    this.host = authority.toLowerCase();
    this.scheme = conn.transportProtocol === 'tls' ? 'https' : 'http';
    this.headers = headers;
    this.requestComplete = endStream;
    this.grpc = isGrpcRequest(headers.get('content-type'));
    const info = httpStreamInfo(conn, codec.protocol, method, path, authority, headers);
    this.info = info;
    const s = hcm.stats;
    s.downstream_rq_total.inc();
    s.downstream_rq_active.inc();
    if (codec.protocol === 'HTTP/2') s.downstream_rq_http2_total.inc();
    else s.downstream_rq_http1_total.inc();
  }

  /** Runs once the request headers are in. */
  start(): void {
    const hcm = this.hcm;
    if (hcm.requestTimeoutMs > 0 && !this.requestComplete) this.requestTimer = deadlineQueue(hcm.requestTimeoutMs).arm(this, onRequestTimeout);
    if (hcm.stripAnyHostPort) this.host = stripPort(this.host);
    if (hcm.mergeSlashes || hcm.normalizePath) this.path = normalizePath(this.path, hcm.normalizePath, hcm.mergeSlashes);
    prepareRequestHeaders(this);
    if (hcm.tracer) this.span = hcm.tracer.start(this);
    this.routeConfig = hcm.staticRoutes ?? (hcm.rds?.current as CompiledRouteConfig | undefined);
    this.refreshRoute();
    // A route's idle_timeout replaces the connection manager's stream_idle_timeout (0 turns it off).
    const idleMs = this.route?.action?.idleTimeoutMs ?? hcm.streamIdleTimeoutMs;
    if (idleMs > 0) {
      this.idleTimeoutMs = idleMs;
      const q = deadlineQueue(idleCheckMs(idleMs));
      this.idleTimer = q.arm(this, onIdleCheck);
      this.activeAt = this.idleTimer.due - q.ms;
    }
    this.runDecoders();
  }

  /** Re-selects the route (after a filter changed headers). */
  refreshRoute(): void {
    const rc = this.routeConfig;
    this.route = rc ? rc.route(this) : undefined;
    this.info.routeName = this.route?.name || undefined;
  }

  /** A filter that stopped iteration resumes the chain. */
  continueDecoding(): void {
    if (this.done || this.responseStarted) return;
    this.filterIndex++;
    this.runDecoders();
  }

  private runDecoders(): void {
    const filters = this.hcm.filters;
    while (this.filterIndex < filters.length) {
      if (filters[this.filterIndex].decodeHeaders(this) === FilterStatus.StopIteration) return;
      if (this.done || this.responseStarted) return;
      this.filterIndex++;
    }
  }

  // ---- request body, from the codec ----

  onRequestData(chunk: Buffer, end: boolean): void {
    if (this.done) return;
    this.info.bytesReceived += chunk.length;
    this.activity++;
    if (end) this.markRequestComplete();
    const r = this.router;
    if (r) return r.onRequestData(chunk, end);
    (this.pendingBody ??= []).push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > PENDING_BODY_LIMIT) this.codec.pauseRequest();
  }

  onRequestTrailers(trailers: HeaderList): void {
    if (this.done) return;
    // Trailers are stream activity too (a gRPC client's last frame while the response streams on).
    this.activity++;
    this.markRequestComplete();
    if (this.router) this.router.onRequestTrailers(trailers);
    else this.pendingTrailers = trailers;
  }

  private markRequestComplete(): void {
    this.requestComplete = true;
    if (this.requestTimer) {
      cancelDeadline(this.requestTimer);
      this.requestTimer = undefined;
    }
  }

  /** The router takes whatever body arrived before it was ready. */
  takePendingBody(): { chunks: Buffer[] | undefined; trailers: HeaderList | undefined } {
    const chunks = this.pendingBody;
    const trailers = this.pendingTrailers;
    this.pendingBody = undefined;
    this.pendingTrailers = undefined;
    if (this.pendingBytes > PENDING_BODY_LIMIT) this.codec.resumeRequest();
    this.pendingBytes = 0;
    return { chunks, trailers };
  }

  /** The downstream went away (connection closed or stream reset) before the response finished. */
  onDownstreamReset(): void {
    if (this.done) return;
    addFlag(this.info, 'DC');
    this.hcm.stats.downstream_rq_rx_reset.inc();
    if (this.router) this.router.onDownstreamReset();
    this.finish();
  }

  onWritable(): void {
    if (this.router) this.router.onDownstreamWritable();
  }

  // ---- response, from the router or a filter ----

  encodeHeaders(status: number, headers: HeaderList, end: boolean, fromUpstream: boolean): void {
    if (this.done) return;
    this.responseStarted = true;
    this.info.responseCode = status;
    this.activity++;
    const route = this.route;
    if (route && fromUpstream) {
      const rc = route.virtualHost.routeConfig;
      if (rc.mostSpecificHeaderMutationsWins) {
        rc.responseMutation.apply(headers, this.info);
        route.virtualHost.responseMutation.apply(headers, this.info);
        route.responseMutation.apply(headers, this.info);
      } else {
        route.responseMutation.apply(headers, this.info);
        route.virtualHost.responseMutation.apply(headers, this.info);
        rc.responseMutation.apply(headers, this.info);
      }
    }
    const extra = this.pendingResponseHeaders;
    if (extra) for (let i = 0; i < extra.length; i += 2) headers.add(extra[i], extra[i + 1]);
    const filters = this.hcm.filters;
    for (let i = 0; i < filters.length; i++) {
      const f = filters[i];
      if (f.encodeHeaders) f.encodeHeaders(this, status, headers);
    }
    const hcm = this.hcm;
    if (hcm.serverHeaderTransformation === 'OVERWRITE') headers.set('server', hcm.serverName);
    else if (hcm.serverHeaderTransformation === 'APPEND_IF_ABSENT' && !headers.has('server')) headers.add('server', hcm.serverName);
    if (hcm.alwaysSetRequestIdInResponse && this.info.requestId) headers.set('x-request-id', this.info.requestId);
    if (hcm.via) headers.add('via', hcm.via);
    this.info.responseHeaders = headers as unknown as StreamInfo['responseHeaders'];
    this.codec.writeHeaders(status, headers, end);
    if (end) this.onResponseComplete();
  }

  encodeData(chunk: Buffer, end: boolean): boolean {
    if (this.done) return true;
    this.info.bytesSent += chunk.length;
    this.activity++;
    const ok = this.codec.writeData(chunk, end);
    if (end) this.onResponseComplete();
    return ok;
  }

  encodeTrailers(trailers: HeaderList): void {
    if (this.done) return;
    this.info.responseTrailers = trailers as unknown as StreamInfo['responseTrailers'];
    this.codec.writeTrailers(trailers);
    this.onResponseComplete();
  }

  /** A reply made by the proxy itself; if the response already started, the stream is reset instead. */
  sendLocalReply(status: number, body: string | Buffer | undefined, flag?: ResponseFlag, details?: string, grpcStatus?: number): void {
    if (this.done) return;
    if (flag) addFlag(this.info, flag);
    if (details) this.info.responseCodeDetails = details;
    if (this.responseStarted) return this.resetStream();
    const reply = buildLocalReply(status, body, this.grpc, grpcStatus);
    if (this.method === 'HEAD' && reply.body) {
      this.encodeHeaders(reply.status, reply.headers, true, false);
      return;
    }
    this.encodeHeaders(reply.status, reply.headers, !reply.body, false);
    if (reply.body) this.encodeData(reply.body, true);
  }

  /** Abandon the stream (response half-sent or downstream misbehaving). */
  resetStream(): void {
    if (this.done) return;
    this.codec.resetStream();
    this.finish();
  }

  private onResponseComplete(): void {
    // A response can complete before the request body did (local replies, early upstream answers).
    this.finish();
  }

  /**
   * An idle check: true (and the next check armed) unless the stream has been idle for the whole
   * stream_idle_timeout. Activity is only counted, so a check that sees the count moved knows the
   * last activity happened no later than now: measuring idleness from there never fires early, and
   * with checks every timeout/16 (at most 1 s) the timeout fires at most that much late. (One check
   * per full timeout, re-armed when it saw activity, allowed up to twice the timeout.)
   */
  idleCheck(): boolean {
    if (this.done) return true;
    const now = performance.now();
    if (this.activity !== this.activityAtCheck) {
      this.activityAtCheck = this.activity;
      this.activeAt = now;
    } else if (now - this.activeAt >= this.idleTimeoutMs) return false;
    this.idleTimer = deadlineQueue(idleCheckMs(this.idleTimeoutMs)).arm(this, onIdleCheck);
    return true;
  }

  /** An upgrade became a raw tunnel: no idle timeout applies; the stream ends when the tunnel closes. */
  onTunnelEstablished(): void {
    if (this.idleTimer) {
      cancelDeadline(this.idleTimer);
      this.idleTimer = undefined;
    }
  }

  onTunnelClosed(): void {
    this.finish();
  }

  /** Timers a filter arms for this stream (fault delays), cleared when the stream ends. */
  addTimer(t: NodeJS.Timeout): void {
    (this.timers ??= []).push(t);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    cancelDeadline(this.idleTimer);
    cancelDeadline(this.requestTimer);
    if (this.timers) for (const t of this.timers) clearTimeout(t);
    if (this.router) this.router.onStreamDone();
    const info = this.info;
    const s = this.hcm.stats;
    s.downstream_rq_active.dec();
    const code = info.responseCode ?? 0;
    if (code >= 500) s.downstream_rq_5xx.inc();
    else if (code >= 400) s.downstream_rq_4xx.inc();
    else if (code >= 300) s.downstream_rq_3xx.inc();
    else if (code >= 200) s.downstream_rq_2xx.inc();
    else if (code >= 100) s.downstream_rq_1xx.inc();
    const ms = Number(process.hrtime.bigint() - info.startHr) / 1e6;
    info.durationMs = Math.round(ms);
    s.downstream_rq_time.record(ms);
    if (this.hcm.accessLogs.length) logAll(this.hcm.accessLogs, info);
    if (this.span) this.hcm.tracer!.finish(this.span, this);
  }
}

/** How often a stream's idleness is checked: the most its idle timeout can fire late. */
function idleCheckMs(timeoutMs: number): number {
  return Math.min(1000, Math.max(1, Math.ceil(timeoutMs / 16)));
}

function onIdleCheck(s: ActiveStream): void {
  if (s.idleCheck()) return;
  s.hcm.stats.downstream_rq_idle_timeout.inc();
  if (s.router) s.router.onDownstreamReset();
  s.sendLocalReply(408, 'stream timeout', 'SI', 'stream_idle_timeout');
}

function onRequestTimeout(s: ActiveStream): void {
  if (s.requestComplete) return;
  s.hcm.stats.downstream_rq_timeout.inc();
  if (s.router) s.router.onDownstreamReset();
  s.sendLocalReply(408, 'request timeout', undefined, 'request_overall_timeout');
}

/** Per connection, so each request does not build the same two strings again. */
const ADDRESSES = Symbol('sailfin.streamInfoAddresses');

/**
 * The stream's StreamInfo with every field present from the start: V8 then allocates it once with
 * its final shape instead of growing its property store as the router, codec and log fill it in.
 */
function httpStreamInfo(conn: DownstreamConnection, protocol: string, method: string, path: string, authority: string, headers: HeaderList): StreamInfo {
  const c = conn as DownstreamConnection & { [ADDRESSES]?: [string, string] };
  const addrs = (c[ADDRESSES] ??= [conn.remoteAddress + ':' + conn.remotePort, conn.localAddress + ':' + conn.localPort]);
  return {
    startTime: Date.now(),
    startHr: process.hrtime.bigint(),
    protocol,
    method,
    path,
    authority,
    userAgent: headers.get('user-agent'),
    requestId: undefined,
    forwardedFor: undefined,
    responseCode: undefined,
    responseCodeDetails: undefined,
    connectionTerminationDetails: undefined,
    upstreamTransportFailureReason: undefined,
    responseFlags: [],
    bytesReceived: 0,
    bytesSent: 0,
    durationMs: undefined,
    upstreamServiceTimeMs: undefined,
    upstreamHost: undefined,
    upstreamCluster: undefined,
    upstreamLocalAddress: undefined,
    downstreamLocalAddress: addrs[1],
    downstreamRemoteAddress: addrs[0],
    requestedServerName: conn.serverName,
    routeName: undefined,
    virtualClusterName: undefined,
    downstreamPeerUri: conn.peerUri,
    upstreamPeerUri: undefined,
    listenerName: conn.listenerName,
    filterChainName: conn.filterChainName,
    requestHeaders: headers as unknown as StreamInfo['requestHeaders'],
    responseHeaders: undefined,
    responseTrailers: undefined,
    attemptCount: undefined,
    downstreamPeer: undefined,
    upstreamPeer: undefined,
    upstreamHostMetadata: undefined,
    filterState: undefined,
  };
}
