/**
 * Upstream HTTP/2: one multiplexed session per (cluster, host), opened over Cluster.connect() (so
 * TLS, SNI and SAN checks are the cluster's) and driven by node:http2, which is native nghttp2 and
 * not the bottleneck (unlike node:http's HTTP/1.1 objects).
 */
import * as http2 from 'node:http2';
import type { Cluster, Host } from '../upstream/api.js';
import { HeaderList } from './headers.js';
import { isStaleHost, localAddressOf } from './h1-pool.js';
import { isHopByHop } from './h1-writer.js';
import type { UpstreamCallbacks, UpstreamRequest, UpstreamRequestHead } from './upstream-types.js';

const EMPTY = Buffer.alloc(0);
const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL } = http2.constants;

class H2Exchange implements UpstreamRequest {
  stream: http2.ClientHttp2Stream | null = null;
  queued: Buffer[] | null = null;
  queuedEnd = false;
  aborted = false;
  paused = false;
  private headersSeen = false;
  private ended = false;
  private trailers: HeaderList | undefined;

  constructor(
    readonly head: UpstreamRequestHead,
    readonly cb: UpstreamCallbacks,
  ) {
    if (!head.hasBody) this.queuedEnd = true;
  }

  attach(session: http2.ClientHttp2Session, localAddress: string | undefined, peerUri: string | undefined): void {
    if (this.aborted) return;
    const head = this.head;
    const h: http2.OutgoingHttpHeaders = { ':method': head.method, ':path': head.path, ':authority': head.authority, ':scheme': head.scheme };
    const kv = head.headers.kv;
    for (let i = 0; i < kv.length; i += 2) {
      const k = kv[i];
      if (k.charCodeAt(0) === 58 || k === 'host') continue;
      if (isHopByHop(k) && !(k === 'te' && kv[i + 1] === 'trailers')) continue;
      const prev = h[k];
      h[k] = prev === undefined ? kv[i + 1] : Array.isArray(prev) ? [...prev, kv[i + 1]] : [String(prev), kv[i + 1]];
    }
    const endNow = this.queuedEnd && (!this.queued || this.queued.length === 0);
    let s: http2.ClientHttp2Stream;
    try {
      s = session.request(h, { endStream: endNow });
    } catch (err) {
      this.cb.onUpstreamFailure('connection_termination', (err as Error).message, false);
      return;
    }
    this.stream = s;
    this.cb.onUpstreamConnected(localAddress, peerUri);
    s.on('response', (headers, flags) => this.onResponse(headers, flags));
    s.on('data', (chunk: Buffer) => this.cb.onUpstreamData(chunk, false));
    s.on('trailers', (t) => (this.trailers = toHeaderList(t)));
    s.on('end', () => this.onEnd());
    s.on('close', () => this.onClose());
    s.on('error', () => undefined);
    s.on('drain', () => this.cb.onUpstreamWritable());
    if (this.paused) s.pause();
    const q = this.queued;
    this.queued = null;
    if (!endNow && q) for (let i = 0; i < q.length; i++) this.write(q[i], this.queuedEnd && i === q.length - 1);
    else if (!endNow && this.queuedEnd) s.end();
  }

  private onResponse(headers: http2.IncomingHttpHeaders, flags: number): void {
    const status = Number(headers[':status']);
    if (status < 200) return;
    this.headersSeen = true;
    const end = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    if (end) this.ended = true;
    this.cb.onUpstreamHeaders(status, toHeaderList(headers), end);
  }

  private onEnd(): void {
    if (this.ended || this.aborted) return;
    this.ended = true;
    if (this.trailers) this.cb.onUpstreamTrailers(this.trailers);
    else this.cb.onUpstreamData(EMPTY, true);
  }

  private onClose(): void {
    if (this.aborted) return;
    if (!this.ended && this.trailers && this.headersSeen) return this.onEnd();
    if (this.ended) return;
    this.ended = true;
    const code = this.stream?.rstCode;
    this.cb.onUpstreamFailure(code === NGHTTP2_REFUSED_STREAM ? 'refused_stream' : 'remote_reset', `stream reset (code ${code})`, this.headersSeen);
  }

  write(chunk: Buffer, end: boolean): boolean {
    if (this.aborted) return true;
    const s = this.stream;
    if (!s) {
      (this.queued ??= []).push(chunk);
      if (end) this.queuedEnd = true;
      return true;
    }
    if (s.destroyed) return true;
    let ok = true;
    if (chunk.length) ok = s.write(chunk);
    if (end) s.end();
    return ok;
  }

  writeTrailers(_trailers: HeaderList): void {
    // Request trailers are not forwarded over HTTP/2 upstreams; the body is ended instead.
    this.write(EMPTY, true);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    if (this.stream && !this.stream.destroyed) this.stream.close(NGHTTP2_CANCEL);
  }

  pauseResponse(): void {
    this.paused = true;
    this.stream?.pause();
  }

  resumeResponse(): void {
    this.paused = false;
    this.stream?.resume();
  }
}

function toHeaderList(h: http2.IncomingHttpHeaders): HeaderList {
  const kv: string[] = [];
  for (const k of Object.keys(h)) {
    if (k.charCodeAt(0) === 58) continue;
    const v = h[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) kv.push(k, x);
    else kv.push(k, String(v));
  }
  return new HeaderList(kv);
}

export class H2Pool {
  private session: http2.ClientHttp2Session | null = null;
  private connecting = false;
  private pending: H2Exchange[] = [];
  private localAddress: string | undefined;
  private peerUri: string | undefined;

  constructor(
    private cluster: Cluster,
    readonly host: Host,
    private readonly onEmpty: (pool: H2Pool) => void,
  ) {}

  updateCluster(cluster: Cluster): void {
    this.cluster = cluster;
  }

  /** The host list last seen to contain this pool's host (see isStaleHost). */
  listedIn: readonly Host[] | undefined;

  /** The pool's cluster was closed (removed or replaced) or no longer lists its host. */
  isStale(): boolean {
    return isStaleHost(this.cluster, this.host, this);
  }

  request(head: UpstreamRequestHead, cb: UpstreamCallbacks): UpstreamRequest | 'overflow' {
    const ex = new H2Exchange(head, cb);
    if (this.session && !this.session.closed && !this.session.destroyed) {
      ex.attach(this.session, this.localAddress, this.peerUri);
      return ex;
    }
    const res = this.cluster.resources;
    if (!res.pendingRequests.canCreate()) {
      this.cluster.stats.upstream_rq_pending_overflow.inc();
      return 'overflow';
    }
    this.pending.push(ex);
    if (!this.connecting) this.connect();
    return ex;
  }

  private connect(): void {
    const cluster = this.cluster;
    if (!cluster.resources.connections.canCreate()) {
      cluster.stats.upstream_cx_overflow.inc();
      const failed = this.pending.splice(0);
      for (const ex of failed) ex.cb.onUpstreamFailure('overflow', 'connection overflow', false);
      return;
    }
    this.connecting = true;
    cluster.connect(this.host, ['h2'], (err, result) => {
      this.connecting = false;
      if (err || !result) {
        const failed = this.pending.splice(0);
        for (const ex of failed) if (!ex.aborted) ex.cb.onUpstreamFailure('connect_failure', err ? err.message : 'connect failed', false);
        this.onEmpty(this);
        return;
      }
      const socket = result.socket;
      const session = http2.connect(`http://${this.host.addressString}`, { createConnection: () => socket as never });
      this.session = session;
      this.localAddress = localAddressOf(socket, result.localAddress);
      this.peerUri = result.peerUri;
      session.on('error', () => undefined);
      session.on('goaway', () => this.detach(session));
      session.on('close', () => {
        this.detach(session);
        if (!this.session && this.pending.length === 0) this.onEmpty(this);
      });
      const idleMs = cluster.info.idleTimeoutMs;
      if (idleMs > 0) session.setTimeout(idleMs, () => session.close());
      session.unref();
      for (const ex of this.pending.splice(0)) ex.attach(session, this.localAddress, this.peerUri);
    });
  }

  private detach(session: http2.ClientHttp2Session): void {
    if (this.session === session) this.session = null;
  }

  closeIdle(): void {
    this.session?.close();
  }
}
