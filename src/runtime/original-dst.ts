/**
 * The proxy's window onto iptables capture: the destination a connection had before REDIRECT sent it to
 * the proxy's port (SO_ORIGINAL_DST), and a non-consuming read of the first bytes (MSG_PEEK) for the TLS
 * inspector. Both come from the small N-API addon in native/, built at install by
 * scripts/build-native.mjs. When it is not built (not Linux, no compiler, SAILFIN_SKIP_NATIVE), nothing
 * fails: `originalDst()` returns undefined, and `isCaptureSupported()` says why so `sailfin up` can fall
 * back to explicit-proxy mode with a clear message.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';

export interface OriginalDestination {
  address: string;
  port: number;
  family: 4 | 6;
}

interface NativeAddon {
  originalDst(fd: number): OriginalDestination | undefined;
  peek(fd: number, n: number): Buffer;
}

export interface CaptureSupport {
  supported: boolean;
  /** Why capture is unavailable; undefined when supported. */
  reason?: string;
}

/** Where node-gyp leaves the addon, relative to the repository root. */
const ADDON_RELATIVE_PATH = join('native', 'build', 'Release', 'original_dst.node');

let loaded: { addon?: NativeAddon; reason?: string } | undefined;

/** The repository root: this file runs from src/runtime/ (ts) or dist/src/runtime/ (compiled). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

function load(): { addon?: NativeAddon; reason?: string } {
  if (loaded) return loaded;
  if (process.platform !== 'linux') {
    loaded = { reason: `SO_ORIGINAL_DST is Linux-only (this is ${process.platform})` };
    return loaded;
  }
  const path = process.env.SAILFIN_NATIVE_ADDON ?? join(findRoot(), ADDON_RELATIVE_PATH);
  if (!existsSync(path)) {
    loaded = { reason: `the native addon is not built (${path} is missing; run \`node scripts/build-native.mjs\`)` };
    return loaded;
  }
  try {
    const require = createRequire(import.meta.url);
    loaded = { addon: require(path) as NativeAddon };
  } catch (err) {
    loaded = { reason: `the native addon at ${path} could not be loaded: ${(err as Error).message}` };
  }
  return loaded;
}

/** Whether transparent capture can work in this process, and if not, why. */
export function isCaptureSupported(): CaptureSupport {
  const { addon, reason } = load();
  return addon ? { supported: true } : { supported: false, reason };
}

/** The file descriptor under a net.Socket (Linux; undefined before connect or after close). */
export function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * The destination the client meant before iptables redirected it. Undefined when conntrack has no entry
 * for the connection, the socket has no fd, or the addon is missing (see isCaptureSupported()). Note that
 * in a namespace where the nat table is active, a connection that was NOT redirected still has a
 * conntrack entry, and the answer is then simply the socket's own local address: callers compare it with
 * the listener's address rather than testing for undefined.
 */
export function originalDst(socketOrFd: Socket | number): OriginalDestination | undefined {
  const { addon } = load();
  if (!addon) return undefined;
  const fd = typeof socketOrFd === 'number' ? socketOrFd : socketFd(socketOrFd);
  if (fd === undefined) return undefined;
  return addon.originalDst(fd);
}

/**
 * Up to `n` bytes already received on the socket, left in place for the next reader. Empty when nothing
 * has arrived yet, or when the addon is missing. The socket should be paused so Node does not read
 * the bytes first.
 */
export function peek(socketOrFd: Socket | number, n: number): Buffer {
  const { addon } = load();
  if (!addon) return Buffer.alloc(0);
  const fd = typeof socketOrFd === 'number' ? socketOrFd : socketFd(socketOrFd);
  if (fd === undefined) return Buffer.alloc(0);
  return addon.peek(fd, n);
}
