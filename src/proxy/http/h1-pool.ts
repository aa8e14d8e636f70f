/**
 * The HTTP/1.1 connection pool for one (cluster, host): idle keep-alive connections reused LIFO,
 * new connections opened while the cluster's max_connections allows, requests queued as pending
 * (bounded by max_pending_requests → overflow, Envoy's UO) while every connection is busy.
 */
import type { Cluster, Host } from '../upstream/api.js';
import { deadlineQueue } from './deadline-queue.js';
import { H1ClientConnection, H1Exchange, type H1PoolLike } from './h1-client.js';
import type { UpstreamCallbacks, UpstreamRequestHead } from './upstream-types.js';

/**
 * Every plain-TCP upstream HTTP/1 socket reads into this one buffer: a read is handled completely
 * (parsed, body copied out) before the event loop runs the next, so one buffer serves them all.
 */
const SHARED_READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export class H1Pool implements H1PoolLike {
  private readonly idle: H1ClientConnection[] = [];
  private readonly pending: H1Exchange[] = [];
  private readonly all = new Set<H1ClientConnection>();
  private connecting = 0;
  readonly maxRequestsPerConnection: number;

  constructor(
    private cluster: Cluster,
    readonly host: Host,
    private readonly onEmpty: (pool: H1Pool) => void,
  ) {
    this.maxRequestsPerConnection = cluster.info.maxRequestsPerConnection;
  }

  /** A cluster update replaces the Cluster object; new connections use the new one. */
  updateCluster(cluster: Cluster): void {
    this.cluster = cluster;
  }

  /** The host list last seen to contain this pool's host (see isStaleHost). */
  listedIn: readonly Host[] | undefined;

  /** The pool's cluster was closed (removed or replaced) or no longer lists its host. */
  isStale(): boolean {
    return isStaleHost(this.cluster, this.host, this);
  }

  request(head: UpstreamRequestHead, cb: UpstreamCallbacks): H1Exchange | 'overflow' {
    const ex = new H1Exchange(this, head, cb);
    let conn = this.idle.pop();
    // A connection destroyed while idle leaves the list only when its socket has closed.
    while (conn && conn.closed) conn = this.idle.pop();
    if (conn) {
      conn.start(ex);
      return ex;
    }
    const res = this.cluster.resources;
    if (!res.pendingRequests.canCreate()) {
      this.cluster.stats.upstream_rq_pending_overflow.inc();
      return 'overflow';
    }
    res.pendingRequests.inc();
    this.cluster.stats.upstream_rq_pending_total.inc();
    this.cluster.stats.upstream_rq_pending_active.inc();
    this.pending.push(ex);
    if (this.connecting < this.pending.length) {
      const allowed = res.connections.canCreate();
      if (!allowed) this.cluster.stats.upstream_cx_overflow.inc();
      if (allowed || this.hasNoConnection()) this.connect();
    }
    return ex;
  }

  private connect(): void {
    const cluster = this.cluster;
    this.connecting++;
    // The socket reads before the connection object exists (a close, a stray byte): the holder
    // forwards to the connection once it does.
    const holder: { conn: H1ClientConnection | null } = { conn: null };
    const onread = { buffer: SHARED_READ_BUFFER, callback: (n: number, buf: Buffer) => holder.conn?.onStaticRead(n, buf) ?? true };
    cluster.connect(this.host, undefined, (err, result) => {
      this.connecting--;
      if (err || !result) {
        const ex = this.pending.shift();
        if (ex) {
          this.dequeued();
          ex.cb.onUpstreamFailure('connect_failure', err ? err.message : 'connect failed', false);
        }
        this.maybeEmpty();
        return;
      }
      const conn = new H1ClientConnection(this, result.socket, localAddressOf(result.socket, result.localAddress), result.peerUri, result.staticReads === true);
      holder.conn = conn;
      this.all.add(conn);
      this.release(conn);
    }, onread);
  }

  private dequeued(): void {
    this.cluster.resources.pendingRequests.dec();
    this.cluster.stats.upstream_rq_pending_active.dec();
  }

  release(conn: H1ClientConnection): void {
    if (conn.closed) return;
    if (this.pending.length === 0 && this.isStale()) {
      conn.destroy();
      return;
    }
    const ex = this.pending.shift();
    if (ex) {
      this.dequeued();
      conn.start(ex);
      return;
    }
    this.idle.push(conn);
    const idleMs = this.cluster.info.idleTimeoutMs;
    if (idleMs > 0) {
      conn.idleTimer = deadlineQueue(idleMs).arm(conn, destroyIdle);
    }
  }

  removePending(ex: H1Exchange): void {
    const i = this.pending.indexOf(ex);
    if (i >= 0) {
      this.pending.splice(i, 1);
      this.dequeued();
    }
  }

  onConnectionClosed(conn: H1ClientConnection): void {
    if (!this.all.delete(conn)) return;
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // Runs on the socket's 'close', after connect.ts gave the circuit breaker's connection slot back:
    // a request queued while every slot was taken opens a connection now.
    if (this.pending.length > this.connecting && (this.cluster.resources.connections.canCreate() || this.hasNoConnection())) this.connect();
    this.maybeEmpty();
  }

  /**
   * max_connections counts the whole cluster, but a pool only hears of its own connections closing:
   * a request queued at a host whose pool has no connection at all would wait for a slot another
   * host's pool frees without telling it. Like Envoy, such a pool opens one connection anyway.
   */
  private hasNoConnection(): boolean {
    return this.all.size === 0 && this.connecting === 0;
  }

  private maybeEmpty(): void {
    if (this.all.size === 0 && this.pending.length === 0 && this.connecting === 0) this.onEmpty(this);
  }

  /** Close idle connections (cluster removed or proxy draining). */
  closeIdle(): void {
    for (const c of this.idle.splice(0)) c.destroy();
  }
}

function destroyIdle(conn: H1ClientConnection): void {
  if (!conn.exchange) conn.destroy();
}

/** `ip:port` of our end of an upstream connection, as %UPSTREAM_LOCAL_ADDRESS% prints it. */
export function localAddressOf(socket: unknown, fallback: string | undefined): string | undefined {
  const s = socket as { localAddress?: string; localPort?: number };
  return s.localAddress && s.localPort ? `${s.localAddress}:${s.localPort}` : fallback;
}

/**
 * ClusterImpl exposes `closed` and `hosts`; other Cluster implementations are never considered stale.
 * Runs on every connection release, so the host-list scan is remembered in `seen.listedIn`: a
 * cluster replaces its `hosts` array on every change and never edits it, so the same array needs
 * no second scan.
 */
export function isStaleHost(cluster: Cluster, host: Host, seen: { listedIn: readonly Host[] | undefined }): boolean {
  const c = cluster as Cluster & { closed?: boolean; hosts?: readonly Host[] };
  if (c.closed === true) return true;
  const hosts = c.hosts;
  if (!Array.isArray(hosts) || hosts === seen.listedIn) return false;
  if (!hosts.includes(host)) return true;
  seen.listedIn = hosts;
  return false;
}
