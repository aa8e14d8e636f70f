/**
 * One write of a whole HTTP message (or message head) to a plain TCP socket, straight to the
 * socket's libuv handle instead of through the Writable stream. Why: the profile of a small proxied
 * request shows Node's stream layer around each of its two socket writes (Writable.write,
 * writeOrBuffer, _writeGeneric, a WriteWrap, and an afterWrite tick) as a visible share of the
 * proxy's own CPU; the handle write underneath is the same call either way.
 *
 * It relies on Node internals (the handle's writeBuffer/writeLatin1String and the stream_wrap
 * binding's WriteWrap and write-state array): everything is checked once at load, any mismatch
 * falls back to socket.write, and test/proxy/http/socket-write.test.ts fails loudly if a Node
 * upgrade changes them. The fast path is taken only when it cannot reorder bytes: nothing is
 * queued in the Writable, the socket is connected, open, not corked and not TLS.
 */
import type { Duplex } from 'node:stream';

interface WriteReq {
  handle: unknown;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  bytes: number;
  buffer: unknown;
  callback: unknown;
  socket: Duplex | null;
}

interface StreamHandle {
  writeBuffer(req: WriteReq, data: Buffer): number;
  writeLatin1String(req: WriteReq, data: string): number;
}

interface Internals {
  WriteWrap: new () => WriteReq;
  state: Int32Array;
  kLastWriteWasAsync: number;
}

function loadInternals(): Internals | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding('stream_wrap');
    const { WriteWrap, streamBaseState, kLastWriteWasAsync } = binding as {
      WriteWrap?: new () => WriteReq;
      streamBaseState?: Int32Array;
      kLastWriteWasAsync?: number;
    };
    if (typeof WriteWrap !== 'function' || !(streamBaseState instanceof Int32Array) || typeof kLastWriteWasAsync !== 'number') return undefined;
    return { WriteWrap, state: streamBaseState, kLastWriteWasAsync };
  } catch {
    return undefined;
  }
}

const internals = process.env.SAILFIN_DIRECT_WRITES === 'off' ? undefined : loadInternals();

/** Whether writes bypass the stream layer on this Node (false: every write is socket.write). */
export const directWrites = internals !== undefined;

/** A write that completed at once leaves its request object unused, so the next write reuses it. */
let spare: WriteReq | undefined;

function onComplete(this: WriteReq, status: number): void {
  const socket = this.socket;
  this.socket = null;
  this.buffer = null;
  if (!socket) return;
  const s = socket;
  if (status < 0) {
    if (!s.destroyed) s.destroy(Object.assign(new Error(`write failed (${status})`), { errno: status, syscall: 'write' }));
    return;
  }
  // The caller saw `false` from writeMessage: tell it the socket took everything, as 'drain' does.
  if (!s.destroyed) s.emit('drain');
}

type FastSocket = Duplex & {
  _handle?: StreamHandle | null;
  connecting?: boolean;
  encrypted?: boolean;
};

/**
 * Writes `data` (a Buffer, or a latin1 string) to `socket`. Returns false when the kernel did not
 * take all of it at once; 'drain' follows when it has, as with socket.write.
 */
export function writeMessage(socket: Duplex, data: Buffer | string): boolean {
  const s = socket as FastSocket;
  const h = s._handle;
  if (internals === undefined || !h || s.writableLength !== 0 || s.connecting || s.destroyed || s.writableEnded || s.writableCorked !== 0 || s.encrypted) {
    return typeof data === 'string' ? socket.write(data, 'latin1') : socket.write(data);
  }
  const req = spare ?? newReq(internals);
  spare = undefined;
  req.handle = h;
  const err = typeof data === 'string' ? h.writeLatin1String(req, data) : h.writeBuffer(req, data);
  const state = internals.state;
  if (err !== 0) {
    // Not reused: a write that failed after libuv took it leaves the object bound to a disposed
    // native request, and errors are too rare for the allocation to matter.
    s.destroy(Object.assign(new Error(`write failed (${err})`), { errno: err, syscall: 'write' }));
    return false;
  }
  if (state[internals.kLastWriteWasAsync] === 0) {
    spare = req;
    return true;
  }
  // libuv queued the rest: the request now belongs to that write, and the data must stay alive.
  req.socket = socket;
  req.buffer = data;
  return false;
}

function newReq(i: Internals): WriteReq {
  const req = new i.WriteWrap();
  req.oncomplete = onComplete;
  req.async = false;
  req.bytes = 0;
  req.buffer = null;
  req.callback = null;
  req.socket = null;
  return req;
}
