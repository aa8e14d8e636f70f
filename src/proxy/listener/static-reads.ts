/**
 * Accepted (downstream) sockets that read into one shared buffer through net's `onread`, as the
 * upstream HTTP/1 sockets do (h1-pool.ts). Why: a 'data' event costs a fresh Buffer per read and a
 * Readable push/emit round, a measurable share of a small proxied request (docs/performance.md).
 *
 * net.Server has no `onread` option. It builds each accepted Socket in its listen handle's
 * `onconnection` callback; installStaticReadAccept replaces that callback with one that builds the
 * Socket the same way plus `onread`. That callback is a Node internal: the hook is installed only
 * when it looks as expected, and test/proxy/listener/static-reads.test.ts fails loudly if a Node
 * upgrade changes what it relies on (the proxy then still works, with plain 'data' sockets).
 *
 * A socket starts out pushing a copy of each read into its stream, so 'data' listeners (listener
 * filters, tcp_proxy, protocol sniffing) see ordinary events; a reader that handles every read at
 * once (the HTTP/1 codec) takes the reads over with takeStaticReads and gets the shared buffer
 * itself. The buffer is overwritten by the next read: a reader copies whatever it keeps.
 */
import { Socket, type Server } from 'node:net';

export interface StaticReader {
  /** `bytes` new bytes at the start of `buf`, valid only during this call. */
  onStaticRead(bytes: number, buf: Buffer): void;
}

/** Every accepted static-read socket reads here: a read is handled completely before the next one. */
const SHARED_READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

const READER = Symbol('sailfin.staticReader');

type StaticSocket = Socket & { [READER]?: StaticReader | null };

interface ListenHandle {
  onconnection?: (err: number, clientHandle: unknown) => void;
}

interface InternalServer {
  _handle?: ListenHandle | null;
  _connections: number;
  allowHalfOpen?: boolean;
  highWaterMark?: number;
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  /** In seconds, as net.Server keeps it. */
  keepAliveInitialDelay?: number;
}

/**
 * Makes `server` (listening, not pausing on connect) accept sockets with static reads whenever
 * `wanted()` says so at that moment. Returns false when Node's internals are not what this expects.
 */
export function installStaticReadAccept(server: Server, wanted: () => boolean): boolean {
  const internal = server as unknown as InternalServer;
  const handle = internal._handle;
  const original = handle?.onconnection;
  if (!handle || typeof original !== 'function' || original.name !== 'onconnection' || typeof internal._connections !== 'number') return false;
  handle.onconnection = function onStaticReadConnection(this: ListenHandle, err: number, clientHandle: unknown): void {
    if (err || !clientHandle || internal.pauseOnConnect || !wanted() || (server.maxConnections && internal._connections >= server.maxConnections)) {
      original.call(this, err, clientHandle);
      return;
    }
    let socket: StaticSocket;
    try {
      socket = new Socket({
        handle: clientHandle,
        allowHalfOpen: internal.allowHalfOpen,
        readable: true,
        writable: true,
        readableHighWaterMark: internal.highWaterMark,
        writableHighWaterMark: internal.highWaterMark,
        onread: { buffer: SHARED_READ_BUFFER, callback: (bytes: number, buf: Uint8Array) => deliver(socket, bytes, buf as Buffer) },
      } as ConstructorParameters<typeof Socket>[0]);
    } catch {
      original.call(this, err, clientHandle);
      return;
    }
    socket[READER] = null;
    // The server's socket options, which net's own onconnection applies (the listener asks for
    // noDelay: without it a tcp_proxy downstream would wait on Nagle).
    if (internal.noDelay) socket.setNoDelay(true);
    if (internal.keepAlive) socket.setKeepAlive(true, (internal.keepAliveInitialDelay ?? 0) * 1000);
    internal._connections++;
    // What net's own onconnection sets: server.getConnections() and close() count this socket.
    (socket as unknown as { server: Server; _server: Server }).server = server;
    (socket as unknown as { _server: Server })._server = server;
    server.emit('connection', socket);
  };
  return true;
}

function deliver(socket: StaticSocket, bytes: number, buf: Buffer): boolean {
  const reader = socket[READER];
  if (reader) {
    reader.onStaticRead(bytes, buf);
    return true;
  }
  // No reader yet: an ordinary 'data' chunk (a copy; returning false stops reading until drained).
  return socket.push(Buffer.from(buf.subarray(0, bytes)));
}

/** Whether this socket was accepted with static reads. */
export function hasStaticReads(socket: unknown): boolean {
  return socket instanceof Socket && (socket as StaticSocket)[READER] !== undefined;
}

/**
 * Hands every further read of a static-read socket to `reader`; false (nothing changed) for other
 * sockets. Bytes already pushed into the stream and not yet consumed are returned, to be handled
 * before the next read.
 */
export function takeStaticReads(socket: unknown, reader: StaticReader): { taken: boolean; buffered: Buffer | null } {
  if (!hasStaticReads(socket)) return { taken: false, buffered: null };
  const s = socket as StaticSocket;
  let buffered: Buffer | null = null;
  if (s.readableLength > 0) {
    const chunks: Buffer[] = [];
    let c: Buffer | null;
    while ((c = s.read() as Buffer | null) !== null) chunks.push(c);
    buffered = chunks.length ? Buffer.concat(chunks) : null;
  }
  s[READER] = reader;
  return { taken: true, buffered };
}

/** Back to ordinary 'data' events (an upgraded connection spliced with pipe()). */
export function releaseStaticReads(socket: unknown): void {
  if (hasStaticReads(socket)) (socket as StaticSocket)[READER] = null;
}
