/**
 * Copies upstream bytes to the downstream socket reading through net's `onread` into a buffer the
 * session owns, instead of 'data' events. Why: with 'data' events Node allocates a fresh 64 KB
 * buffer for every read, and that external memory churn made V8 run a mark-compact GC every
 * ~100 ms ("external memory pressure" in --trace-gc, 4-13 ms each): 21 % of the proxy's CPU in a
 * --cpu-prof of the bench's L4 run (1 MB responses through tcp_proxy).
 *
 * The buffer is reused, so a chunk handed to write() must not be overwritten before the kernel has
 * it: when a write does not complete at once (the downstream is slower), reading pauses until that
 * write's callback, which is the back-pressure a copy needs anyway. The buffer starts small (an
 * idle connection keeps 4 KB) and grows to 64 KB once a read fills it, the size a busy stream needs
 * to move a megabyte in few syscalls. It is allocated at the first read only: a TLS upstream never
 * reads through `onread` (it emits 'data'), so its session costs no buffer at all.
 */
import type { Duplex } from 'node:stream';
import type { StaticReadOptions } from '../upstream/api.js';

const SMALL = 4 * 1024;
const LARGE = 64 * 1024;

export class UpstreamCopy {
  private buffer: Buffer | undefined;
  private dst: Duplex | undefined;
  private src: Duplex | undefined;
  /** Bytes read before the session attached the sockets (copied, since the buffer is reused). */
  private early: Buffer[] = [];
  private paused = false;
  readonly onread: StaticReadOptions = {
    buffer: () => (this.buffer ??= Buffer.allocUnsafe(SMALL)),
    callback: (n, buf) => this.onRead(n, buf),
  };
  private readonly afterWrite = (): void => {
    if (this.paused && this.dst && this.dst.writableLength === 0) {
      this.paused = false;
      this.src?.resume();
    }
  };

  constructor(private readonly count: (bytes: number) => void) {}

  /** Starts copying from `src` (the socket connected with `onread`) to `dst`, forwarding the FIN. */
  attach(src: Duplex, dst: Duplex): void {
    this.src = src;
    this.dst = dst;
    for (const chunk of this.early) dst.write(chunk);
    this.early = [];
    src.once('end', () => dst.end());
    // Flowing mode, or the Readable never reads to the EOF and 'end' never comes.
    src.resume();
  }

  private onRead(n: number, buf: Buffer): boolean {
    this.count(n);
    const chunk = buf.subarray(0, n);
    // A full read means more is waiting: read bigger from now on (the old buffer stays with `chunk`).
    if (n === buf.length && buf.length < LARGE) this.buffer = Buffer.allocUnsafe(LARGE);
    const dst = this.dst;
    if (!dst) {
      this.early.push(Buffer.from(chunk));
      return true;
    }
    dst.write(chunk, this.afterWrite);
    // writableLength is back to 0 when the kernel took the whole chunk during write() itself.
    if (dst.writableLength > 0) {
      this.paused = true;
      this.src!.pause();
      return false;
    }
    return true;
  }
}
