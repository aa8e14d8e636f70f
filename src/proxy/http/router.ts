/**
 * The router: the terminal HTTP filter's per-request work. It picks the cluster (single, weighted,
 * from a header), applies rewrites and header policies, opens the upstream exchange through the
 * connection pools, enforces the route and per-try timeouts, retries by the retry policy, mirrors
 * to shadow clusters, and maps every failure to Envoy's status, body and response flag.
 */
import type { Duplex } from 'node:stream';
import type { ProxyContext } from '../context.js';
import { addFlag, type ResponseFlag } from '../stream-info.js';
import type { Cluster, Host, LbContext, OutlierResult } from '../upstream/api.js';
import type { ActiveStream } from './active-stream.js';
import type { HeaderList } from './headers.js';
import { BODY_NO_HEALTHY_UPSTREAM, BODY_OVERFLOW, BODY_TIMEOUT, upstreamFailureReply } from './local-reply.js';
import { startMirrors, type Mirror } from './mirror.js';
import { backOffMs, retriableFailure, retriableResponse, RetryOn, type RetryPolicy } from './retry-policy.js';
import { pickWeighted, type RouteAction, type WeightedCluster } from './route-action.js';
import { cancelDeadline, deadlineQueue, type Deadline } from './deadline-queue.js';
import { answerWithoutUpstream } from './direct-actions.js';
import { spliceTunnel } from './tunnel.js';
import { parseHostPort, prepareUpstreamHead } from './upstream-head.js';
import { h1PoolFor, h2PoolFor } from './upstream-pools.js';
import type { UpstreamCallbacks, UpstreamFailure, UpstreamRequest, UpstreamRequestHead } from './upstream-types.js';

/** The bounded copy of the request body kept so a retry can resend it (Envoy's buffer limit). */
const RETRY_BUFFER_LIMIT = 1024 * 1024;

export interface RouterOptions {
  readonly suppressEnvoyHeaders: boolean;
}

export class Router implements UpstreamCallbacks {
  private cluster!: Cluster;
  private action!: RouteAction;
  private weighted: WeightedCluster | undefined;
  private retry: RetryPolicy | undefined;
  private head!: UpstreamRequestHead;
  private upstream: UpstreamRequest | null = null;
  private host: Host | null = null;
  private attempted: Host[] | undefined;
  private attempts = 0;
  private retriesLeft = 0;
  private lb: LbContext = {};
  private body: Buffer[] | undefined = [];
  private firstChunks: Buffer[] | undefined;
  private bodyBytes = 0;
  private bodyEnded = false;
  private trailers: HeaderList | undefined;
  private timeoutMs = 0;
  private perTryMs = 0;
  private globalTimer: Deadline | undefined;
  private perTryTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private attemptStart = 0;
  private responseStarted = false;
  private upstreamPaused = false;
  private downstreamPaused = false;
  private done = false;
  private retryExhausted = false;
  private staleRetried = false;
  private firstSent = false;
  private holdingRequest = false;
  private mirrors: Mirror[] | undefined;
  private tunnel: Duplex | undefined;

  constructor(
    private readonly stream: ActiveStream,
    private readonly ctx: ProxyContext,
    private readonly opts: RouterOptions,
  ) {}

  /** Runs when the router filter sees the request headers. */
  start(): void {
    const s = this.stream;
    const route = s.route;
    const hcm = s.hcm;
    if (!route) {
      hcm.stats.no_route.inc();
      return s.sendLocalReply(404, undefined, 'NR', 'route_not_found');
    }
    if (answerWithoutUpstream(s, route)) return;
    const action = route.action!;
    this.action = action;
    let clusterName: string | undefined = action.cluster;
    if (action.weighted) {
      this.weighted = pickWeighted(action.weighted, Math.random());
      clusterName = this.weighted.name;
    } else if (action.clusterHeader) clusterName = s.headers.get(action.clusterHeader);
    const cluster = clusterName ? this.ctx.clusters.get(clusterName) : undefined;
    s.info.upstreamCluster = clusterName;
    if (!cluster) {
      hcm.stats.no_cluster.inc();
      return s.sendLocalReply(503, undefined, 'NC', 'cluster_not_found');
    }
    this.cluster = cluster;
    s.router = this;
    const prepared = prepareUpstreamHead(s, this.action, this.weighted, this.opts.suppressEnvoyHeaders);
    this.head = prepared.head;
    this.timeoutMs = prepared.timeoutMs;
    this.perTryMs = prepared.perTryMs;
    this.retry = action.retry ?? route.virtualHost.retry;
    this.retriesLeft = this.retry ? this.retry.numRetries : 0;
    if (this.retry?.previousHosts) this.attempted = [];
    if (action.hash) {
      const r = action.hash({ headers: s.headers, path: s.path, remoteAddress: s.conn.remoteAddress });
      this.lb.hash = r.hash;
      if (r.setCookie) (s.pendingResponseHeaders ??= []).push('set-cookie', r.setCookie);
    }
    this.lb.downstreamAddress = s.conn.remoteAddress;
    const odh = s.headers.get('x-envoy-original-dst-host');
    if (cluster.info.type === 'ORIGINAL_DST') this.lb.originalDst = odh ? parseHostPort(odh) : { address: s.conn.localAddress, port: s.conn.localPort };
    if (action.mirrors.length) this.mirrors = startMirrors(this.ctx, action.mirrors, this.head, s);
    const pending = s.takePendingBody();
    this.firstChunks = pending.chunks;
    if (pending.chunks) for (const c of pending.chunks) this.bufferBody(c);
    if (s.requestComplete) {
      this.bodyEnded = true;
      this.trailers = pending.trailers;
    }
    if (this.mirrors) {
      const chunks = pending.chunks ?? [];
      for (const m of this.mirrors) {
        for (let i = 0; i < chunks.length; i++) m.write(chunks[i], this.bodyEnded && i === chunks.length - 1);
        if (this.bodyEnded && chunks.length === 0) m.write(EMPTY, true);
      }
    }
    if (s.requestComplete && this.timeoutMs > 0) this.globalTimer = deadlineQueue(this.timeoutMs).arm(this, onGlobalTimeout);
    this.attempt();
  }

  private bufferBody(chunk: Buffer): void {
    if (this.body) {
      this.bodyBytes += chunk.length;
      if (this.bodyBytes > RETRY_BUFFER_LIMIT) this.body = undefined;
      else this.body.push(chunk);
    }
  }

  // ---- attempts ----

  private attempt(): void {
    const s = this.stream;
    const cluster = this.cluster;
    this.attempts++;
    s.info.attemptCount = this.attempts;
    const res = cluster.resources;
    if (!res.requests.canCreate()) {
      cluster.stats.upstream_rq_pending_overflow.inc();
      return this.localFailure(503, BODY_OVERFLOW, 'UO', 'overflow');
    }
    const host = this.chooseHost();
    if (!host) {
      cluster.stats.upstream_cx_none_healthy.inc();
      return this.localFailure(503, BODY_NO_HEALTHY_UPSTREAM, 'UH', 'no_healthy_upstream');
    }
    this.host = host;
    this.attempted?.push(host);
    s.info.upstreamHost = host.addressString;
    s.info.upstreamHostMetadata = host.metadata;
    const vh = s.route!.virtualHost;
    if (vh.includeAttemptCountInRequest) this.head.headers.set('x-envoy-attempt-count', String(this.attempts));
    const useH2 = cluster.info.upstreamProtocol === 'http2' || (cluster.info.upstreamProtocol === 'use_downstream' && s.codec.protocol === 'HTTP/2');
    const head = this.head;
    const r = useH2 && !head.upgrade ? h2PoolFor(cluster, host).request(head, this) : h1PoolFor(cluster, host).request(head, this);
    if (r === 'overflow') return this.localFailure(503, BODY_OVERFLOW, 'UO', 'overflow');
    this.upstream = r;
    res.requests.inc();
    host.activeRequests++;
    cluster.stats.upstream_rq_total.inc();
    cluster.stats.upstream_rq_active.inc();
    this.attemptStart = performance.now();
    if (this.perTryMs > 0) this.perTryTimer = setTimeout(onPerTryTimeout, this.perTryMs, this);
    // Send what the retry buffer holds; the rest streams through onRequestData.
    if (!this.firstSent) {
      this.firstSent = true;
      const body = this.firstChunks;
      this.firstChunks = undefined;
      if (body) for (let i = 0; i < body.length; i++) this.writeUpstream(body[i], this.bodyEnded && !this.trailers && i === body.length - 1);
      if (this.bodyEnded && this.trailers) r.writeTrailers(this.trailers);
      else if (this.bodyEnded && (!body || body.length === 0) && head.hasBody) r.write(EMPTY, true);
    } else if (this.body) {
      const body = this.body;
      for (let i = 0; i < body.length; i++) r.write(body[i], this.bodyEnded && !this.trailers && i === body.length - 1);
      if (this.bodyEnded && this.trailers) r.writeTrailers(this.trailers);
      else if (this.bodyEnded && body.length === 0 && head.hasBody) r.write(EMPTY, true);
    }
  }

  private writeUpstream(chunk: Buffer, end: boolean): void {
    const u = this.upstream;
    if (!u) return;
    if (!u.write(chunk, end) && !this.holdingRequest) {
      this.holdingRequest = true;
      this.stream.codec.pauseRequest();
    }
  }

  private chooseHost(): Host | null {
    const cluster = this.cluster;
    const prev = this.attempted;
    if (prev && prev.length) {
      this.lb.previousHosts = prev;
      const tries = Math.max(1, this.retry?.hostSelectionMaxAttempts ?? 1);
      let h: Host | null = null;
      for (let i = 0; i < tries; i++) {
        h = cluster.chooseHost(this.lb);
        if (!h || !prev.includes(h)) return h;
      }
      return h;
    }
    return cluster.chooseHost(this.lb);
  }

  private endAttempt(result: OutlierResult): void {
    if (this.perTryTimer) {
      clearTimeout(this.perTryTimer);
      this.perTryTimer = undefined;
    }
    const host = this.host;
    if (!this.upstream && !host) return;
    this.upstream = null;
    const cluster = this.cluster;
    cluster.resources.requests.dec();
    cluster.stats.upstream_rq_active.dec();
    if (host) {
      host.activeRequests--;
      cluster.reportResult(host, result);
    }
    this.host = null;
  }

  /** Whether to try again; schedules the retry when so. */
  private maybeRetry(retriable: boolean): boolean {
    const p = this.retry;
    if (!retriable || !p || this.done) return false;
    if (this.retriesLeft <= 0) {
      this.retryExhausted = true;
      return false;
    }
    if (!this.body || (!this.bodyEnded && this.head.hasBody)) return false;
    const cluster = this.cluster;
    if (!cluster.resources.retries.canCreate()) {
      cluster.stats.upstream_rq_retry_overflow.inc();
      return false;
    }
    this.retriesLeft--;
    cluster.stats.upstream_rq_retry.inc();
    cluster.resources.retries.inc();
    const delay = backOffMs(p, p.numRetries - this.retriesLeft - 1);
    this.backoffTimer = setTimeout(onBackoffDone, delay, this);
    return true;
  }

  retryNow(): void {
    this.backoffTimer = undefined;
    this.cluster.resources.retries.dec();
    if (this.done) return;
    this.attempt();
  }

  private localFailure(status: number, body: string | undefined, flag: ResponseFlag, details: string): void {
    if (this.retryExhausted) addFlag(this.stream.info, 'URX');
    this.finishRouter();
    this.stream.sendLocalReply(status, body, flag, details);
  }

  // ---- upstream callbacks ----

  onUpstreamConnected(localAddress: string | undefined, peerUri: string | undefined): void {
    const info = this.stream.info;
    info.upstreamLocalAddress = localAddress;
    info.upstreamPeerUri = peerUri;
  }

  onUpstreamHeaders(status: number, headers: HeaderList, end: boolean): void {
    if (this.done) return;
    const cluster = this.cluster;
    const p = this.retry;
    if (p && !this.responseStarted && retriableResponse(p, status, headers)) {
      const u = this.upstream;
      if (this.retriesLeft > 0 && this.maybeRetry(true)) {
        u?.abort();
        this.endAttempt({ kind: 'http', status });
        return;
      }
      this.retryExhausted = true;
    }
    const elapsed = Math.round(performance.now() - this.attemptStart);
    this.stream.info.upstreamServiceTimeMs = elapsed;
    cluster.stats.upstream_rq_time.record(elapsed);
    if (status >= 500) cluster.stats.upstream_rq_5xx.inc();
    else if (status >= 400) cluster.stats.upstream_rq_4xx.inc();
    else if (status >= 300) cluster.stats.upstream_rq_3xx.inc();
    else cluster.stats.upstream_rq_2xx.inc();
    if (this.attempts > 1 && status < 500) cluster.stats.upstream_rq_retry_success.inc();
    if (this.retryExhausted) addFlag(this.stream.info, 'URX');
    this.responseStarted = true;
    if (!this.opts.suppressEnvoyHeaders) headers.set('x-envoy-upstream-service-time', String(elapsed));
    if (this.stream.route!.virtualHost.includeAttemptCountInResponse) headers.set('x-envoy-attempt-count', String(this.attempts));
    if (this.weighted && !this.weighted.responseMutation.empty) this.weighted.responseMutation.apply(headers, this.stream.info);
    this.stream.info.responseCodeDetails = 'via_upstream';
    if (end) this.completeUpstream({ kind: 'http', status });
    this.stream.encodeHeaders(status, headers, end, true);
  }

  onUpstreamData(chunk: Buffer, end: boolean): void {
    if (this.done) return;
    if (end) this.completeUpstream({ kind: 'http', status: this.stream.info.responseCode ?? 200 });
    const ok = this.stream.encodeData(chunk, end);
    if (!ok && !end && this.upstream && !this.upstreamPaused) {
      this.upstreamPaused = true;
      this.upstream.pauseResponse();
    }
  }

  onUpstreamTrailers(trailers: HeaderList): void {
    if (this.done) return;
    this.completeUpstream({ kind: 'http', status: this.stream.info.responseCode ?? 200 });
    this.stream.encodeTrailers(trailers);
  }

  private completeUpstream(result: OutlierResult): void {
    this.endAttempt(result);
    this.clearGlobal();
  }

  onUpstreamFailure(kind: UpstreamFailure, detail: string, afterHeaders: boolean, reused?: boolean): void {
    if (this.done) return;
    const s = this.stream;
    if (reused && !afterHeaders && !this.responseStarted && !this.staleRetried && this.body && (this.bodyEnded || !this.head.hasBody)) {
      // A kept-alive connection the upstream closed under us: try once more on a fresh connection,
      // without spending the route's retries (the request never reached the application).
      this.staleRetried = true;
      this.endAttempt({ kind: 'success' });
      this.attempts--;
      this.attempt();
      return;
    }
    s.info.upstreamTransportFailureReason = kind === 'connect_failure' ? detail : undefined;
    const outlier: OutlierResult = kind === 'connect_failure' ? { kind: 'connect_failed' } : { kind: 'reset' };
    if (afterHeaders || this.responseStarted) {
      this.endAttempt(outlier);
      addFlag(s.info, kind === 'remote_reset' ? 'UR' : kind === 'protocol_error' ? 'UPE' : 'UC');
      this.finishRouter();
      s.resetStream();
      return;
    }
    this.endAttempt(outlier);
    if (kind === 'overflow') return this.localFailure(503, BODY_OVERFLOW, 'UO', 'overflow');
    const p = this.retry;
    const retriable = p !== undefined && retriableFailure(p, kind === 'connect_failure' ? 'connect_failure' : kind === 'refused_stream' ? 'refused_stream' : 'reset');
    if (this.maybeRetry(retriable)) return;
    const reply = upstreamFailureReply(kind);
    return this.localFailure(503, reply.body, reply.flag, reply.details);
  }

  onUpstreamUpgrade(headers: HeaderList, socket: Duplex, head: Buffer | null): void {
    const s = this.stream;
    this.endAttempt({ kind: 'http', status: 101 });
    this.clearGlobal();
    s.hcm.stats.downstream_cx_upgrades_total.inc();
    this.responseStarted = true;
    s.info.responseCodeDetails = 'via_upstream';
    headers.set('connection', 'Upgrade');
    headers.set('upgrade', this.head.upgrade ?? 'websocket');
    s.encodeHeaders(101, headers, false, true);
    const down = s.codec.takeTunnel?.();
    if (!down) {
      socket.destroy();
      return;
    }
    this.tunnel = socket;
    s.onTunnelEstablished();
    spliceTunnel(socket, head, down.socket, down.head, () => s.onTunnelClosed());
  }

  onUpstreamWritable(): void {
    if (this.holdingRequest) {
      this.holdingRequest = false;
      this.stream.codec.resumeRequest();
    }
  }

  // ---- downstream events, from ActiveStream ----

  onRequestData(chunk: Buffer, end: boolean): void {
    if (this.done) return;
    if (end) this.bodyEnded = true;
    this.bufferBody(chunk);
    if (this.mirrors) for (const m of this.mirrors) m.write(chunk, end);
    if (this.upstream) this.writeUpstream(chunk, end);
    if (end && this.timeoutMs > 0 && !this.globalTimer && !this.responseStarted) this.globalTimer = deadlineQueue(this.timeoutMs).arm(this, onGlobalTimeout);
  }

  onRequestTrailers(trailers: HeaderList): void {
    if (this.done) return;
    this.bodyEnded = true;
    this.trailers = trailers;
    if (this.mirrors) for (const m of this.mirrors) m.write(EMPTY, true);
    this.upstream?.writeTrailers(trailers);
    if (this.timeoutMs > 0 && !this.globalTimer && !this.responseStarted) this.globalTimer = deadlineQueue(this.timeoutMs).arm(this, onGlobalTimeout);
  }

  onDownstreamWritable(): void {
    if (this.upstreamPaused && this.upstream) {
      this.upstreamPaused = false;
      this.upstream.resumeResponse();
    }
  }

  onDownstreamReset(): void {
    if (this.done) return;
    const u = this.upstream;
    u?.abort();
    this.endAttempt({ kind: 'success' });
    this.finishRouter();
  }

  /** The stream ended (response complete or reset): release everything still held. */
  onStreamDone(): void {
    if (this.upstream && !this.done) {
      // The response finished while the request body was still streaming: the exchange is over.
      this.upstream.abort();
      this.endAttempt({ kind: 'success' });
    }
    this.finishRouter();
  }

  private clearGlobal(): void {
    if (this.globalTimer) {
      cancelDeadline(this.globalTimer);
      this.globalTimer = undefined;
    }
  }

  private finishRouter(): void {
    if (this.done) return;
    this.done = true;
    this.clearGlobal();
    if (this.perTryTimer) clearTimeout(this.perTryTimer);
    if (this.backoffTimer) {
      clearTimeout(this.backoffTimer);
      this.cluster.resources.retries.dec();
    }
    this.body = undefined;
  }

  // ---- timeouts ----

  onGlobalTimeout(): void {
    this.globalTimer = undefined;
    if (this.done) return;
    const s = this.stream;
    this.cluster.stats.upstream_rq_timeout.inc();
    this.upstream?.abort();
    this.endAttempt({ kind: 'timeout' });
    if (this.responseStarted) {
      addFlag(s.info, 'UT');
      this.finishRouter();
      s.resetStream();
      return;
    }
    this.localFailure(504, BODY_TIMEOUT, 'UT', 'upstream_response_timeout');
  }

  onPerTryTimeout(): void {
    this.perTryTimer = undefined;
    if (this.done || this.responseStarted) return;
    this.cluster.stats.upstream_rq_per_try_timeout.inc();
    this.upstream?.abort();
    this.endAttempt({ kind: 'timeout' });
    const p = this.retry;
    const retriable = p !== undefined && (p.retryOn & (RetryOn.Http5xx | RetryOn.GatewayError | RetryOn.Reset)) !== 0;
    if (this.maybeRetry(retriable)) return;
    this.localFailure(504, BODY_TIMEOUT, 'UT', 'upstream_per_try_timeout');
  }
}

const EMPTY = Buffer.alloc(0);

function onGlobalTimeout(r: Router): void {
  r.onGlobalTimeout();
}

function onPerTryTimeout(r: Router): void {
  r.onPerTryTimeout();
}

function onBackoffDone(r: Router): void {
  r.retryNow();
}
