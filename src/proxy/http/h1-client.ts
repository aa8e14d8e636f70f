/**
 * One upstream HTTP/1.1 connection and the exchange (request/response) running on it. Requests are
 * never pipelined upstream: an exchange owns the connection until its response completes, then the
 * connection goes back to its pool if both sides allow keep-alive.
 */
import type { Duplex } from 'node:stream';
import { cancelDeadline, type Deadline } from './deadline-queue.js';
import { HeaderList } from './headers.js';
import { H1Parser, ParserMode, type H1ParserHandler } from './h1-parser.js';
import { reportInternalError } from './internal-error.js';
import { chunkHeader, CHUNK_END, isHopByHop, LAST_CHUNK, trailerBlock } from './h1-writer.js';
import { writeMessage } from './socket-write.js';
import type { UpstreamCallbacks, UpstreamRequest, UpstreamRequestHead } from './upstream-types.js';

const EMPTY = Buffer.alloc(0);

export interface H1PoolLike {
  release(conn: H1ClientConnection): void;
  onConnectionClosed(conn: H1ClientConnection): void;
  removePending(ex: H1Exchange): void;
  readonly maxRequestsPerConnection: number;
}

/** The router's handle on one request; buffers body writes until a connection is assigned. */
export class H1Exchange implements UpstreamRequest {
  conn: H1ClientConnection | null = null;
  queued: Buffer[] | null = null;
  queuedEnd = false;
  queuedTrailers: HeaderList | undefined;
  aborted = false;
  responsePaused = false;

  constructor(
    readonly pool: H1PoolLike,
    readonly head: UpstreamRequestHead,
    readonly cb: UpstreamCallbacks,
  ) {
    if (!head.hasBody) this.queuedEnd = true;
  }

  write(chunk: Buffer, end: boolean): boolean {
    if (this.aborted) return true;
    if (this.conn) return this.conn.writeBody(chunk, end);
    (this.queued ??= []).push(chunk);
    if (end) this.queuedEnd = true;
    return true;
  }

  writeTrailers(trailers: HeaderList): void {
    if (this.aborted) return;
    if (this.conn) this.conn.writeTrailers(trailers);
    else {
      this.queuedTrailers = trailers;
      this.queuedEnd = true;
    }
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    if (this.conn) this.conn.abortExchange();
    else this.pool.removePending(this);
  }

  pauseResponse(): void {
    this.responsePaused = true;
    this.conn?.socket.pause();
  }

  resumeResponse(): void {
    this.responsePaused = false;
    this.conn?.socket.resume();
  }
}

export class H1ClientConnection implements H1ParserHandler {
  exchange: H1Exchange | null = null;
  readonly parser: H1Parser;
  requestsServed = 0;
  idleTimer: Deadline | undefined;
  closed = false;
  private chunked = false;
  private requestDone = false;
  private headersReceived = false;
  private informational = false;
  private upgrading = false;

  /** After a 101: reads still arriving through the static-read callback go to the tunnel as 'data'. */
  private tunneled = false;

  constructor(
    readonly pool: H1PoolLike,
    readonly socket: Duplex,
    readonly localAddress: string | undefined,
    readonly peerUri: string | undefined,
    /** Reads come through onStaticRead (net's onread, one shared buffer) instead of 'data' events. */
    readonly staticReads = false,
  ) {
    this.parser = new H1Parser(ParserMode.Response, this);
    this.parser.copyRetained = staticReads;
    if (!staticReads) socket.on('data', this.onSocketData.bind(this));
    socket.on('drain', this.onSocketDrain.bind(this));
    socket.on('close', this.onSocketClose.bind(this));
    socket.on('error', onSocketError);
    socket.on('end', this.onSocketEnd.bind(this));
  }

  start(ex: H1Exchange): void {
    if (this.idleTimer) {
      cancelDeadline(this.idleTimer);
      this.idleTimer = undefined;
    }
    this.exchange = ex;
    ex.conn = this;
    this.requestsServed++;
    this.requestDone = false;
    this.headersReceived = false;
    this.informational = false;
    const head = ex.head;
    this.parser.noBodyExpected = head.method === 'HEAD';
    let s = head.method + ' ' + head.path + ' HTTP/1.1\r\nhost: ' + head.authority + '\r\n';
    const kv = head.headers.kv;
    for (let i = 0; i < kv.length; i += 2) {
      const k = kv[i];
      if (k.charCodeAt(0) === 58 || k === 'host' || k === 'content-length' || isHopByHop(k)) continue;
      s += k + ': ' + kv[i + 1] + '\r\n';
    }
    this.chunked = false;
    if (head.upgrade) s += 'connection: upgrade\r\nupgrade: ' + head.upgrade + '\r\n';
    if (head.hasBody) {
      if (head.contentLength >= 0) s += 'content-length: ' + head.contentLength + '\r\n';
      else {
        s += 'transfer-encoding: chunked\r\n';
        this.chunked = true;
      }
    } else if (head.contentLength === 0 && head.method !== 'GET' && head.method !== 'HEAD') s += 'content-length: 0\r\n';
    const sock = this.socket;
    ex.cb.onUpstreamConnected(this.localAddress, this.peerUri);
    if (ex.queuedEnd && !ex.queued && !ex.queuedTrailers && !head.hasBody) {
      // The common bodyless request: one write, no cork.
      writeMessage(sock, s + '\r\n');
      this.requestDone = true;
      if (ex.responsePaused) sock.pause();
      else if (sock.isPaused()) sock.resume();
      return;
    }
    sock.cork();
    sock.write(s + '\r\n', 'latin1');
    const queued = ex.queued;
    ex.queued = null;
    if (ex.aborted || this.exchange !== ex) {
      sock.uncork();
      return;
    }
    if (queued) for (let i = 0; i < queued.length; i++) this.writeBody(queued[i], ex.queuedEnd && !ex.queuedTrailers && i === queued.length - 1);
    if (ex.queuedTrailers) this.writeTrailers(ex.queuedTrailers);
    else if (ex.queuedEnd && (!queued || queued.length === 0)) this.writeBody(EMPTY, true);
    if (ex.responsePaused) sock.pause();
    else sock.resume();
    sock.uncork();
  }

  writeBody(chunk: Buffer, end: boolean): boolean {
    const sock = this.socket;
    let ok = true;
    if (this.chunked) {
      if (chunk.length) {
        sock.write(chunkHeader(chunk.length), 'latin1');
        sock.write(chunk);
        ok = sock.write(CHUNK_END);
      }
      if (end) ok = sock.write(LAST_CHUNK);
    } else if (chunk.length) ok = writeMessage(sock, chunk);
    if (end) this.requestDone = true;
    return ok;
  }

  writeTrailers(trailers: HeaderList): void {
    if (this.chunked) this.socket.write(trailerBlock(trailers), 'latin1');
    this.requestDone = true;
  }

  /** The router gave up on the exchange: the connection's state is unknown, so close it. */
  abortExchange(): void {
    this.exchange = null;
    this.destroy();
  }

  /**
   * The pool hears of the close from the socket's 'close' event, not from here: the circuit
   * breaker's connection slot (connect.ts) is released only then, and a request queued behind this
   * connection can take that slot only once it is free.
   */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    cancelDeadline(this.idleTimer);
    this.socket.destroy();
  }

  // ---- parser callbacks ----

  onHeaders(): void {
    const ex = this.exchange;
    if (!ex) return;
    const p = this.parser;
    const status = p.statusCode;
    if (status < 200) {
      if (status === 101 && ex.head.upgrade) {
        this.upgrading = true;
        p.pause();
        return;
      }
      this.informational = true;
      return;
    }
    this.headersReceived = true;
    const bodyless = p.noBodyExpected || status === 204 || status === 304 || (p.contentLength === 0 && !p.chunked);
    ex.cb.onUpstreamHeaders(status, p.headers, bodyless);
  }

  onBody(chunk: Buffer): void {
    const ex = this.exchange;
    // A static read buffer is overwritten by the next read; the downstream may still queue the chunk.
    if (ex) ex.cb.onUpstreamData(this.staticReads ? Buffer.from(chunk) : chunk, false);
  }

  onMessageComplete(trailers: HeaderList | undefined): void {
    if (this.upgrading) return;
    if (this.informational) {
      this.informational = false;
      return;
    }
    const ex = this.exchange;
    if (!ex) return;
    const p = this.parser;
    const bodyless = p.noBodyExpected || p.statusCode === 204 || p.statusCode === 304 || (p.contentLength === 0 && !p.chunked);
    this.exchange = null;
    ex.conn = null;
    const reusable = p.keepAlive && this.requestDone && !this.closed && (this.pool.maxRequestsPerConnection === 0 || this.requestsServed < this.pool.maxRequestsPerConnection);
    if (!reusable) this.destroy();
    if (trailers) ex.cb.onUpstreamTrailers(trailers);
    else if (!bodyless) ex.cb.onUpstreamData(EMPTY, true);
    if (reusable && !this.closed) {
      if (this.socket.isPaused()) this.socket.resume();
      this.pool.release(this);
    }
  }

  onParseError(_status: number, reason: string): void {
    const ex = this.exchange;
    this.exchange = null;
    this.destroy();
    if (ex) {
      ex.conn = null;
      ex.cb.onUpstreamFailure('protocol_error', reason, this.headersReceived);
    }
  }

  // ---- socket events ----

  /**
   * net's onread callback. Why not 'data' events: each one costs a Buffer allocation for the read and
   * a Readable push/emit round, a measurable share of a small proxied request (docs/performance.md).
   */
  onStaticRead(bytes: number, buf: Buffer): boolean {
    if (this.tunneled) {
      this.socket.push(Buffer.from(buf.subarray(0, bytes)));
      return true;
    }
    this.onSocketData(buf.subarray(0, bytes));
    return true;
  }

  private onSocketData(data: Buffer): void {
    if (!this.exchange) {
      // Bytes on an idle connection: the upstream is misbehaving; drop the connection.
      this.destroy();
      return;
    }
    try {
      this.parser.execute(data);
    } catch (err) {
      reportInternalError(err);
      const ex = this.exchange;
      this.exchange = null;
      this.destroy();
      if (ex) ex.cb.onUpstreamFailure('protocol_error', 'internal error', true);
      return;
    }
    if (this.upgrading && this.exchange) {
      const ex = this.exchange;
      this.exchange = null;
      ex.conn = null;
      this.closed = true;
      this.tunneled = true;
      const rest = this.parser.takeUpgradedRemainder();
      this.socket.removeAllListeners('data');
      this.socket.removeAllListeners('drain');
      this.socket.removeAllListeners('close');
      this.socket.removeAllListeners('end');
      this.pool.onConnectionClosed(this);
      ex.cb.onUpstreamUpgrade(this.parser.headers, this.socket, rest);
    }
  }

  private onSocketDrain(): void {
    const ex = this.exchange;
    if (ex) ex.cb.onUpstreamWritable();
  }

  private onSocketEnd(): void {
    // The upstream half-closed: a read-until-close body ends here.
    if (this.exchange && this.headersReceived) this.parser.finish();
    this.socket.end();
  }

  private onSocketClose(): void {
    const ex = this.exchange;
    this.exchange = null;
    if (!this.closed) {
      this.closed = true;
      cancelDeadline(this.idleTimer);
    }
    this.pool.onConnectionClosed(this);
    if (ex && !ex.aborted) {
      ex.conn = null;
      if (this.headersReceived && this.parser.finish()) return;
      const reused = this.requestsServed > 1 && !this.headersReceived && this.parser.idle;
      ex.cb.onUpstreamFailure('connection_termination', 'upstream connection closed', this.headersReceived, reused);
    }
  }
}

function onSocketError(): void {
  // 'close' follows and carries the failure to the exchange.
}
