/**
 * Downstream HTTP/2 (h2c with prior knowledge, or h2 negotiated by ALPN on a TLS connection the
 * listener terminated): node:http2 parses frames natively; each HTTP/2 stream becomes an
 * ActiveStream through this adapter.
 */
import * as http2 from 'node:http2';
import { Duplex } from 'node:stream';
import type { DownstreamConnection } from '../listener/connection.js';
import { ActiveStream } from './active-stream.js';
import type { DownstreamCodecStream } from './downstream-codec.js';
import type { HcmConfig } from './hcm-config.js';
import { HeaderList } from './headers.js';
import { reportInternalError } from './internal-error.js';
import { isHopByHop } from './h1-writer.js';

const EMPTY = Buffer.alloc(0);

class H2DownstreamStream implements DownstreamCodecStream {
  readonly protocol = 'HTTP/2';
  active: ActiveStream | null = null;
  private trailers: HeaderList | undefined;
  private responded = false;

  constructor(private readonly stream: http2.ServerHttp2Stream) {}

  writeHeaders(status: number, headers: HeaderList, endStream: boolean): void {
    const s = this.stream;
    if (s.destroyed || s.closed || this.responded) return;
    this.responded = true;
    const out: http2.OutgoingHttpHeaders = { ':status': status };
    const kv = headers.kv;
    for (let i = 0; i < kv.length; i += 2) {
      const k = kv[i];
      if (k.charCodeAt(0) === 58 || isHopByHop(k)) continue;
      const prev = out[k];
      out[k] = prev === undefined ? kv[i + 1] : Array.isArray(prev) ? [...prev, kv[i + 1]] : [String(prev), kv[i + 1]];
    }
    try {
      s.respond(out, { endStream, waitForTrailers: !endStream && this.active?.grpc === true });
    } catch {
      this.resetStream();
    }
  }

  writeData(chunk: Buffer, endStream: boolean): boolean {
    const s = this.stream;
    if (s.destroyed || s.closed) return true;
    if (endStream) {
      s.end(chunk.length ? chunk : undefined);
      return true;
    }
    return chunk.length ? s.write(chunk) : true;
  }

  writeTrailers(trailers: HeaderList): void {
    const s = this.stream;
    if (s.destroyed || s.closed) return;
    this.trailers = trailers;
    if (this.active?.grpc) s.end();
    else {
      // Without waitForTrailers the stream cannot carry trailers; end it cleanly instead.
      s.end();
    }
  }

  onWantTrailers(): void {
    const out: http2.OutgoingHttpHeaders = {};
    const t = this.trailers;
    if (t) for (let i = 0; i < t.kv.length; i += 2) out[t.kv[i]] = t.kv[i + 1];
    try {
      this.stream.sendTrailers(out);
    } catch {
      this.stream.close();
    }
  }

  resetStream(): void {
    const s = this.stream;
    if (!s.destroyed) s.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  }

  pauseRequest(): void {
    this.stream.pause();
  }

  resumeRequest(): void {
    this.stream.resume();
  }
}

function toRequest(headers: http2.IncomingHttpHeaders): HeaderList {
  const kv: string[] = [];
  for (const k of Object.keys(headers)) {
    if (k.charCodeAt(0) === 58) continue;
    const v = headers[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) kv.push(k, x);
    else kv.push(k, v);
  }
  return new HeaderList(kv);
}

/** One http2 server per HCM; connections are handed to it with `emit('connection')`. */
export class H2Downstream {
  private readonly server: http2.Http2Server;
  private readonly sessions = new Map<http2.ServerHttp2Session, DownstreamConnection>();
  private handoff: DownstreamConnection | undefined;

  constructor(private readonly hcm: HcmConfig) {
    this.server = http2.createServer({ maxSessionMemory: 64, settings: { enablePush: false } });
    this.server.on('session', (session: http2.ServerHttp2Session) => {
      const conn = this.handoff!;
      this.sessions.set(session, conn);
      session.on('close', () => this.sessions.delete(session));
      session.on('error', () => undefined);
      if (hcm.connectionIdleTimeoutMs > 0) session.setTimeout(hcm.connectionIdleTimeoutMs, () => session.close());
    });
    this.server.on('stream', (stream, headers) => {
      try {
        this.onStream(stream, headers);
      } catch (err) {
        reportInternalError(err);
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      }
    });
    this.server.on('sessionError', () => undefined);
  }

  accept(conn: DownstreamConnection, socket: Duplex, initial: Buffer | undefined, onClose: () => void): void {
    socket.on('close', onClose);
    // node:http2 reads a net.Socket through its native handle, so bytes already read off it (the
    // sniffed preface) would be lost; such sockets go through a JS stream that replays them first.
    // A server-side TLSSocket made around an accepted socket (the listener's TLS termination) hangs when
    // node:http2 consumes its native handle: the session never answers (curl's default h2 over HTTPS
    // timed out at the gateway). Reading it through the JS stream works.
    const encrypted = (socket as Duplex & { encrypted?: boolean }).encrypted === true;
    const transport = (initial && initial.length) || encrypted ? replayingStream(socket, initial ?? Buffer.alloc(0)) : socket;
    this.handoff = conn;
    this.server.emit('connection', transport);
    this.handoff = undefined;
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const conn = this.sessions.get(stream.session as http2.ServerHttp2Session);
    if (!conn) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    const codec = new H2DownstreamStream(stream);
    const method = String(headers[':method'] ?? 'GET');
    const path = String(headers[':path'] ?? '/');
    const authority = String(headers[':authority'] ?? headers.host ?? '');
    const endStream = stream.readableEnded || (stream as unknown as { endAfterHeaders?: boolean }).endAfterHeaders === true;
    const active = new ActiveStream(this.hcm, conn, codec, method, path, authority, toRequest(headers), endStream);
    codec.active = active;
    stream.on('wantTrailers', () => codec.onWantTrailers());
    stream.on('error', () => undefined);
    let gotTrailers: HeaderList | undefined;
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => (gotTrailers = toRequest(t)));
    if (!endStream) {
      stream.on('data', (chunk: Buffer) => active.onRequestData(chunk, false));
      stream.on('end', () => (gotTrailers ? active.onRequestTrailers(gotTrailers) : active.onRequestData(EMPTY, true)));
    } else stream.resume();
    stream.on('drain', () => active.onWritable());
    stream.on('close', () => {
      if (!active.done) active.onDownstreamReset();
    });
    active.start();
  }

  drain(): void {
    for (const s of this.sessions.keys()) if (!s.closed) s.close();
  }
}

/** A Duplex that yields `initial` and then whatever `socket` reads, writing through to `socket`. */
function replayingStream(socket: Duplex, initial: Buffer): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  if (initial.length) d.push(initial);
  socket.on('data', (chunk: Buffer) => {
    if (!d.push(chunk)) socket.pause();
  });
  socket.on('end', () => d.push(null));
  socket.on('close', () => d.destroy());
  socket.on('error', () => undefined);
  const s = socket as Duplex & { remoteAddress?: string; remotePort?: number; localAddress?: string; localPort?: number };
  Object.assign(d, { remoteAddress: s.remoteAddress, remotePort: s.remotePort, localAddress: s.localAddress, localPort: s.localPort });
  return d;
}
