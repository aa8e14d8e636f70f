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
import { startMirrors, writeToMirrors, type Mirror } from './mirror.js';
import { backOffMs, retriableFailure, retriableResponse, RetryOn, type RetryPolicy } from './retry-policy.js';
import { pickWeighted, type RouteAction, type WeightedCluster } from './route-action.js';
import { answerWithoutUpstream } from './direct-actions.js';
import { upgradeToTunnel } from './tunnel.js';
import { RequestBodyBuffer, sendBody } from './request-body-buffer.js';
import { RouterTimers } from './router-timers.js';
import { beginAttempt, chooseHost, endAttemptAccounting, lbContextFor, recordUpstreamResponse } from './upstream-attempt.js';
import { prepareUpstreamHead } from './upstream-head.js';
import { h1PoolFor, h2PoolFor } from './upstream-pools.js';
import type { UpstreamCallbacks, UpstreamFailure, UpstreamRequest, UpstreamRequestHead } from './upstream-types.js';

export interface RouterOptions {
  readonly suppressEnvoyHeaders: boolean;
}

export class Router extends RouterTimers implements UpstreamCallbacks {
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
  /** Set by start() from the route and cluster (lbContextFor) before any attempt. */
  private lb!: LbContext;
  private readonly body = new RequestBodyBuffer();
  private firstChunks: Buffer[] | undefined;
  private timeoutMs = 0;
  private perTryMs = 0;
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

  constructor(
    private readonly stream: ActiveStream,
    private readonly ctx: ProxyContext,
    private readonly opts: RouterOptions,
  ) {
    super();
  }

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
    if (action.weighted) this.weighted = pickWeighted(action.weighted, Math.random());
    const clusterName = this.weighted ? this.weighted.name : action.clusterHeader ? s.headers.get(action.clusterHeader) : action.cluster;
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
    this.lb = lbContextFor(s, action, cluster);
    if (action.mirrors.length) this.mirrors = startMirrors(this.ctx, action.mirrors, this.head, s);
    const pending = s.takePendingBody();
    const body = this.body;
    this.firstChunks = pending.chunks;
    if (pending.chunks) for (const c of pending.chunks) body.add(c);
    if (s.requestComplete) {
      body.ended = true;
      body.trailers = pending.trailers;
    }
    if (this.mirrors) writeToMirrors(this.mirrors, pending.chunks, body.ended);
    if (s.requestComplete) this.armGlobal(this.timeoutMs);
    this.attempt();
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
    const host = chooseHost(cluster, this.lb, this.attempted, this.retry);
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
    beginAttempt(cluster, host);
    this.attemptStart = performance.now();
    this.armPerTry(this.perTryMs);
    // The first attempt sends what arrived before the router started; a retry replays the kept
    // body. Whatever comes later streams through onRequestData.
    const body = this.body;
    if (!this.firstSent) {
      this.firstSent = true;
      const first = this.firstChunks;
      this.firstChunks = undefined;
      sendBody(first, body, head.hasBody, this);
    } else if (body.replayable) sendBody(body.chunks, body, head.hasBody, this);
  }

  /** Writes to the current attempt, pausing the downstream while the upstream is backed up. */
  writeUpstream(chunk: Buffer, end: boolean): void {
    const u = this.upstream;
    if (!u) return;
    if (!u.write(chunk, end) && !this.holdingRequest) {
      this.holdingRequest = true;
      this.stream.codec.pauseRequest();
    }
  }

  writeUpstreamTrailers(trailers: HeaderList): void {
    this.upstream?.writeTrailers(trailers);
  }

  /** `result` undefined: the attempt tells nothing about the host (see endAttemptAccounting). */
  private endAttempt(result: OutlierResult | undefined): void {
    this.clearPerTry();
    const host = this.host;
    if (!this.upstream && !host) return;
    this.upstream = null;
    endAttemptAccounting(this.cluster, host, result);
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
    if (!this.body.replayable || (!this.body.ended && this.head.hasBody)) return false;
    const cluster = this.cluster;
    if (!cluster.resources.retries.canCreate()) {
      cluster.stats.upstream_rq_retry_overflow.inc();
      addFlag(this.stream.info, 'UO');
      return false;
    }
    this.retriesLeft--;
    cluster.stats.upstream_rq_retry.inc();
    cluster.resources.retries.inc();
    const delay = backOffMs(p, p.numRetries - this.retriesLeft - 1);
    this.armBackoff(delay);
    return true;
  }

  retryNow(): void {
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
      // No retry: maybeRetry has flagged why (URX when they ran out, UO on the retry breaker); a
      // body too large to replay passes the response on unflagged, as in Envoy.
      if (this.maybeRetry(true)) {
        u?.abort();
        this.endAttempt({ kind: 'http', status });
        return;
      }
    }
    const elapsed = Math.round(performance.now() - this.attemptStart);
    this.stream.info.upstreamServiceTimeMs = elapsed;
    recordUpstreamResponse(cluster, status, elapsed, this.attempts);
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
    if (reused && !afterHeaders && !this.responseStarted && !this.staleRetried && this.body.replayable && (this.body.ended || !this.head.hasBody)) {
      // A kept-alive connection the upstream closed under us: try once more on a fresh connection,
      // without spending the route's retries (the request never reached the application), and
      // without telling outlier detection: the host neither failed nor answered.
      this.staleRetried = true;
      this.endAttempt(undefined);
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
    this.endAttempt({ kind: 'http', status: 101 });
    this.clearGlobal();
    this.responseStarted = true;
    upgradeToTunnel(this.stream, headers, this.head.upgrade, socket, head);
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
    if (end) this.body.ended = true;
    this.body.add(chunk);
    if (this.mirrors) for (const m of this.mirrors) m.write(chunk, end);
    if (this.upstream) this.writeUpstream(chunk, end);
    if (end && !this.responseStarted) this.armGlobal(this.timeoutMs);
  }

  onRequestTrailers(trailers: HeaderList): void {
    if (this.done) return;
    this.body.ended = true;
    this.body.trailers = trailers;
    if (this.mirrors) for (const m of this.mirrors) m.write(EMPTY, true);
    this.upstream?.writeTrailers(trailers);
    if (!this.responseStarted) this.armGlobal(this.timeoutMs);
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
    // The client went away: that says nothing about the upstream host.
    this.endAttempt(undefined);
    this.finishRouter();
  }

  /** The stream ended (response complete or reset): release everything still held. */
  onStreamDone(): void {
    if (this.upstream && !this.done) {
      // The response finished while the request body was still streaming: the exchange is over.
      this.upstream.abort();
      this.endAttempt(undefined);
    }
    this.finishRouter();
  }

  private finishRouter(): void {
    if (this.done) return;
    this.done = true;
    if (this.clearAllTimers()) this.cluster.resources.retries.dec();
    this.body.drop();
  }

  // ---- timeouts ----

  onGlobalTimeout(): void {
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
