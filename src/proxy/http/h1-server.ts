/**
 * The downstream HTTP/1.1 side of one connection: parses requests with the hand-written parser,
 * runs one ActiveStream at a time (pipelined requests wait, parsed but paused, until the response
 * before them is done), writes each small response as one buffer (head + body), and enforces the
 * header-size limit (431), malformed input (400 + close), the request-headers timeout (408 + close)
 * and keep-alive / max_requests_per_connection.
 */
import type { Duplex } from 'node:stream';
import type { DownstreamConnection } from '../listener/connection.js';
import { ActiveStream } from './active-stream.js';
import type { DownstreamCodecStream } from './downstream-codec.js';
import type { HcmConfig } from './hcm-config.js';
import { cancelDeadline, deadlineQueue, type Deadline } from './deadline-queue.js';
import { HeaderList } from './headers.js';
import { H1Parser, ParserMode, type H1ParserHandler } from './h1-parser.js';
import { reportInternalError } from './internal-error.js';
import { appendHeaders, chunkHeader, CHUNK_END, LAST_CHUNK, statusLine, trailerBlock } from './h1-writer.js';
import { releaseStaticReads, takeStaticReads, type StaticReader } from '../listener/static-reads.js';
import { writeMessage } from './socket-write.js';

const EMPTY = Buffer.alloc(0);
/** Bodies up to this size are sent in the same buffer as the response head. */
const COALESCE_LIMIT = 16 * 1024;

export interface ConnectionOwner {
  readonly draining: boolean;
  onConnectionClosed(c: { drain(): void }): void;
}

export class H1ServerConnection implements H1ParserHandler, DownstreamCodecStream, StaticReader {
  protocol = 'HTTP/1.1';
  private readonly parser: H1Parser;
  private stream: ActiveStream | null = null;
  private requestDone = true;
  private responseDone = true;
  private responseChunked = false;
  private responseHasBody = true;
  private keepAlive = true;
  private headerTimer: NodeJS.Timeout | undefined;
  private idleTimer: Deadline | undefined;
  private requests = 0;
  private closed = false;
  private upgraded = false;
  private pendingHead: string | undefined;
  private flushScheduled = false;
  private readonly flushBound = this.flushHead.bind(this);
  /** Reads arrive through onStaticRead (a listener socket's shared buffer) instead of 'data' events. */
  private readonly staticReads: boolean;

  constructor(
    private readonly hcm: HcmConfig,
    private readonly conn: DownstreamConnection,
    private readonly socket: Duplex,
    private readonly owner: ConnectionOwner,
    /** Bytes the listener already read (inspectors, protocol detection), handled first. */
    initial?: Buffer,
  ) {
    this.parser = new H1Parser(ParserMode.Request, this);
    this.parser.maxHeaderBytes = hcm.maxRequestHeadersBytes;
    this.parser.maxHeaderCount = hcm.maxHeadersCount;
    const take = takeStaticReads(socket, this);
    this.staticReads = take.taken;
    this.parser.copyRetained = take.taken;
    if (!take.taken) socket.on('data', this.onSocketData.bind(this));
    socket.on('drain', this.onSocketDrain.bind(this));
    socket.on('close', this.onSocketClose.bind(this));
    socket.on('error', noop);
    socket.on('end', this.onSocketEnd.bind(this));
    (socket as Duplex & { setNoDelay?(v: boolean): void }).setNoDelay?.(true);
    this.armIdleTimer();
    this.armHeaderTimer();
    if (initial && initial.length) this.onSocketData(initial);
    if (take.buffered) this.onSocketData(take.buffered);
  }

  onStaticRead(bytes: number, buf: Buffer): void {
    this.onSocketData(buf.subarray(0, bytes));
  }

  private onSocketData(data: Buffer): void {
    if (this.upgraded) return;
    try {
      this.parser.execute(data);
    } catch (err) {
      // A bug reached by one request must cost that connection, never the proxy.
      reportInternalError(err);
      this.stream?.resetStream();
      this.close();
      return;
    }
    if (!this.stream && !this.parser.idle && !this.closed) this.armHeaderTimer();
  }

  private armHeaderTimer(): void {
    if (this.headerTimer || this.hcm.requestHeadersTimeoutMs <= 0) return;
    this.headerTimer = setTimeout(onHeaderTimeout, this.hcm.requestHeadersTimeoutMs, this);
  }

  private clearHeaderTimer(): void {
    if (this.headerTimer) {
      clearTimeout(this.headerTimer);
      this.headerTimer = undefined;
    }
  }

  onHeaderTimeout(): void {
    this.headerTimer = undefined;
    if (this.stream || this.closed) return;
    this.hcm.stats.downstream_rq_header_timeout.inc();
    if (this.parser.idle && this.requests > 0) return this.close();
    this.writeRaw(408, 'request header timeout');
  }

  /**
   * idle_timeout counts while the connection has no stream. Armed when a response completes rather
   * than with socket.setTimeout, which re-arms a Node timer on every read and write.
   */
  private armIdleTimer(): void {
    cancelDeadline(this.idleTimer);
    this.idleTimer = this.hcm.connectionIdleTimeoutMs > 0 ? deadlineQueue(this.hcm.connectionIdleTimeoutMs).arm(this, onConnectionIdle) : undefined;
  }

  onIdleTimeout(): void {
    this.idleTimer = undefined;
    if (!this.stream && !this.closed) this.close();
  }

  // ---- parser callbacks ----

  onHeaders(): void {
    this.clearHeaderTimer();
    if (this.idleTimer) {
      cancelDeadline(this.idleTimer);
      this.idleTimer = undefined;
    }
    const p = this.parser;
    this.requests++;
    this.protocol = p.versionMinor === 1 ? 'HTTP/1.1' : 'HTTP/1.0';
    let path = p.path;
    let authority = p.headers.get('host');
    if (path.charCodeAt(0) !== 47 /* '/' */) {
      // absolute-form (a client talking to us as a forward proxy) or asterisk-form.
      const m = /^https?:\/\/([^/?#]+)(.*)$/i.exec(path);
      if (m) {
        authority = m[1];
        path = m[2] || '/';
      } else if (!(path === '*' && p.method === 'OPTIONS')) {
        return this.failRequest(400, 'invalid_path');
      }
    }
    if (authority === undefined) {
      if (p.versionMinor === 1) return this.failRequest(400, 'missing_host_header');
      authority = '';
    }
    this.keepAlive = p.keepAlive && !this.owner.draining && (this.hcm.maxRequestsPerConnection === 0 || this.requests < this.hcm.maxRequestsPerConnection);
    const endStream = !p.chunked && p.contentLength <= 0;
    // Like Envoy (proxy_100_continue off), answer Expect: 100-continue here so the client starts
    // sending at once, and do not pass the expectation upstream.
    const expect = p.headers.get('expect');
    if (expect !== undefined && expect.toLowerCase() === '100-continue') {
      p.headers.remove('expect');
      if (!endStream && p.versionMinor === 1) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    }
    this.requestDone = endStream;
    this.responseDone = false;
    const stream = new ActiveStream(this.hcm, this.conn, this, p.method, path, authority, p.headers, endStream);
    this.stream = stream;
    if (endStream) p.pause();
    stream.start();
  }

  onBody(chunk: Buffer): void {
    const s = this.stream;
    // A static read buffer is overwritten by the next read; the router may still hold the chunk.
    if (s) s.onRequestData(this.staticReads ? Buffer.from(chunk) : chunk, false);
  }

  onMessageComplete(trailers: HeaderList | undefined): void {
    const wasDone = this.requestDone;
    this.requestDone = true;
    // Hold the next pipelined request until this response is out.
    if (!this.responseDone) this.parser.pause();
    const s = this.stream;
    if (!s || wasDone) return;
    if (trailers) s.onRequestTrailers(trailers);
    else s.onRequestData(EMPTY, true);
  }

  onParseError(status: number, reason: string): void {
    this.hcm.stats.downstream_cx_protocol_error.inc();
    if (status === 431) this.hcm.stats.downstream_rq_too_large.inc();
    this.failRequest(status, reason);
  }

  private failRequest(status: number, reason: string): void {
    this.clearHeaderTimer();
    this.keepAlive = false;
    const s = this.stream;
    if (s && !s.done) {
      if (s.responseStarted) return s.resetStream();
      if (s.router) s.router.onDownstreamReset();
      s.info.responseCodeDetails = reason;
      s.sendLocalReply(status, statusBody(status), 'DPE', reason);
      return;
    }
    this.writeRaw(status, statusBody(status));
  }

  /** A reply outside any stream (the request never got far enough to have one): then close. */
  private writeRaw(status: number, body: string): void {
    if (this.closed) return;
    this.closed = true;
    const b = Buffer.from(body);
    this.socket.write(statusLine(status) + `content-length: ${b.length}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n`, 'latin1');
    this.socket.end(b);
    // Give the client a moment to read the reply, then make sure the socket goes.
    setTimeout(destroySocket, 1000, this.socket).unref();
  }

  // ---- DownstreamCodecStream, for the current stream ----

  writeHeaders(status: number, headers: HeaderList, endStream: boolean): void {
    const s = this.stream;
    if (!s || this.closed) return;
    const head = s.method === 'HEAD';
    const noBody = status < 200 || status === 204 || status === 304;
    const cl = headers.get('content-length');
    let out = statusLine(status);
    out = appendHeaders(out, headers);
    this.responseChunked = false;
    this.responseHasBody = !noBody && !head;
    if (status === 101) {
      out += 'connection: Upgrade\r\nupgrade: ' + (headers.get('upgrade') ?? 'websocket') + '\r\n';
    } else if (!noBody && cl === undefined) {
      if (endStream) {
        if (!head) out += 'content-length: 0\r\n';
      } else if (this.protocol === 'HTTP/1.1') {
        out += 'transfer-encoding: chunked\r\n';
        this.responseChunked = !head;
      } else this.keepAlive = false;
    }
    // A response that ends before its request body was read: the rest of the body cannot be skipped safely.
    if (endStream && !this.requestDone) this.keepAlive = false;
    if (status !== 101) {
      if (!this.keepAlive) out += 'connection: close\r\n';
      else if (this.protocol === 'HTTP/1.0') out += 'connection: keep-alive\r\n';
    }
    if (endStream && status !== 101) {
      writeMessage(this.socket, out + '\r\n');
      this.onResponseDone();
      return;
    }
    // Hold the head for a moment: the first body chunk usually follows in the same tick, and one
    // write of head+body is one syscall without cork/writev bookkeeping.
    this.pendingHead = out + '\r\n';
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushBound);
    }
  }

  private flushHead(): void {
    this.flushScheduled = false;
    const head = this.pendingHead;
    if (head !== undefined) {
      this.pendingHead = undefined;
      if (!this.closed || this.upgraded) writeMessage(this.socket, head);
    }
  }

  writeData(chunk: Buffer, endStream: boolean): boolean {
    if (this.closed || !this.stream) return true;
    const sock = this.socket;
    let ok = true;
    const head = this.pendingHead;
    if (head !== undefined) {
      this.pendingHead = undefined;
      if (!this.responseChunked && this.responseHasBody && chunk.length > 0 && chunk.length <= COALESCE_LIMIT) {
        const buf = Buffer.allocUnsafe(head.length + chunk.length);
        buf.write(head, 0, 'latin1');
        chunk.copy(buf, head.length);
        ok = writeMessage(sock, buf);
        if (endStream) this.onResponseDone();
        return ok;
      }
      writeMessage(sock, head);
    }
    if (this.responseHasBody && chunk.length) {
      if (this.responseChunked) {
        sock.write(chunkHeader(chunk.length), 'latin1');
        sock.write(chunk);
        ok = sock.write(CHUNK_END);
      } else ok = writeMessage(sock, chunk);
    }
    if (endStream) {
      if (this.responseChunked) sock.write(LAST_CHUNK);
      this.onResponseDone();
    }
    return ok;
  }

  writeTrailers(trailers: HeaderList): void {
    if (this.closed || !this.stream) return;
    this.flushHead();
    if (this.responseChunked) this.socket.write(trailerBlock(trailers), 'latin1');
    this.onResponseDone();
  }

  resetStream(): void {
    this.stream = null;
    this.close();
  }

  pauseRequest(): void {
    this.socket.pause();
  }

  resumeRequest(): void {
    if (!this.closed) this.socket.resume();
  }

  takeTunnel(): { socket: Duplex; head: Buffer | null } | undefined {
    if (this.closed) return undefined;
    this.upgraded = true;
    this.flushHead();
    this.stream = null;
    this.clearHeaderTimer();
    const head = this.parser.takeUpgradedRemainder();
    const sock = this.socket;
    releaseStaticReads(sock);
    sock.removeAllListeners('data');
    sock.removeAllListeners('drain');
    sock.removeAllListeners('end');
    cancelDeadline(this.idleTimer);
    this.idleTimer = undefined;
    if (sock.isPaused()) sock.resume();
    return { socket: sock, head };
  }

  private onResponseDone(): void {
    this.responseDone = true;
    this.stream = null;
    if (this.pendingHead !== undefined) this.flushHead();
    if (!this.keepAlive || this.owner.draining) {
      this.closed = true;
      this.socket.end();
      setTimeout(destroySocket, 5000, this.socket).unref();
      return;
    }
    this.armIdleTimer();
    if (this.requestDone) {
      if (this.socket.isPaused()) this.socket.resume();
      this.parser.resume();
      if (!this.stream && !this.parser.idle && !this.closed) this.armHeaderTimer();
    }
  }

  // ---- socket events ----

  private onSocketDrain(): void {
    const s = this.stream;
    if (s) s.onWritable();
  }

  private onSocketEnd(): void {
    // Half-close from the client: finish the response in flight, then close.
    if (!this.stream) this.close();
    else this.keepAlive = false;
  }

  private onSocketClose(): void {
    this.closed = true;
    this.clearHeaderTimer();
    cancelDeadline(this.idleTimer);
    const s = this.stream;
    this.stream = null;
    if (s && !s.done) s.onDownstreamReset();
    this.owner.onConnectionClosed(this);
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /**
   * Listener draining. Closing an idle keep-alive connection at once races a request the client may be
   * sending at that moment (it would see a reset); as Envoy does, the next response carries
   * `Connection: close`, and a connection still idle after the grace period is closed then.
   */
  drain(): void {
    this.keepAlive = false;
    if (!this.stream) setTimeout(closeIfIdle, DRAIN_IDLE_CLOSE_MS, this).unref();
  }

  closeIfIdle(): void {
    if (!this.stream && !this.closed) this.close();
  }
}

/** How long an idle connection of a draining listener may still bring a request (answered with Connection: close). */
const DRAIN_IDLE_CLOSE_MS = 2000;

function closeIfIdle(c: H1ServerConnection): void {
  c.closeIfIdle();
}

function statusBody(status: number): string {
  return status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'request header timeout' : 'Bad Request';
}

function onConnectionIdle(c: H1ServerConnection): void {
  c.onIdleTimeout();
}

function onHeaderTimeout(c: H1ServerConnection): void {
  c.onHeaderTimeout();
}

function destroySocket(s: Duplex): void {
  s.destroy();
}

function noop(): void {}
