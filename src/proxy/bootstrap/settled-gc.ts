/**
 * One full, compacting garbage collection once the proxy's config has stopped changing.
 *
 * Why: V8 collects old space only when allocation drives it there, and an idle sidecar allocates
 * almost nothing. Compiling a 1,000-service config (decoded protobuf, intermediate JSON, the first
 * sync's superseded objects) leaves 25-40 MB of garbage in old space and large-object space that
 * would otherwise stay resident for the life of the pod: measured on a sidecar fed by `sailfin
 * discovery` (bench/xds-idle.ts), heap 83 MB committed before and 38 MB after, idle RSS 145-155 MB
 * before and about 105 MB after.
 *
 * The collection runs after `quietMs` without a config change, only when the heap grew by more than
 * `minGrowthBytes` since the last one (a push that changed nothing allocates little), and only when
 * the event loop was mostly idle during the quiet period: a full collection stops every connection
 * for tens of milliseconds, and on a proxy carrying traffic the heap always looks grown (request
 * garbage) so an endpoint push every few seconds would otherwise buy one each time. V8's own
 * collector handles a busy proxy.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

type Collect = () => void;

let collector: Collect | null | undefined;

/**
 * V8's gc() without starting Node with --expose-gc: the flag is read when a context is created, so a
 * fresh vm context gets the function (it collects the whole isolate), and the flag is switched back
 * off at once so no other context sees it.
 */
function fullGc(): Collect | null {
  if (collector !== undefined) return collector;
  try {
    setFlagsFromString('--expose-gc');
    let gc: unknown;
    try {
      gc = runInNewContext('gc');
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
    if (typeof gc !== 'function') return (collector = null);
    collector = () => {
      (gc as Collect)();
      // What is left is compacted only when the heap is mostly empty pages: a compaction copies every
      // live object to fresh pages first, which for a proxy started from a 1,000-service bootstrap
      // (little garbage, 20 MB live) raised the peak RSS by 16 MB to give back 1.5. After the first
      // xDS sync (old space 44 MB committed, 32 MB live) it gives back the part-empty pages now
      // instead of when V8's memory reducer gets to them, some 8 s later if ever.
      const h = getHeapStatistics();
      if (h.total_heap_size - h.used_heap_size < Math.max(8 * 1024 * 1024, h.used_heap_size / 4)) return;
      setFlagsFromString('--compact-on-every-full-gc');
      try {
        (gc as Collect)();
      } finally {
        setFlagsFromString('--no-compact-on-every-full-gc');
      }
    };
  } catch {
    collector = null;
  }
  return collector;
}

export interface SettledGcOptions {
  /** How long the config must stay unchanged first (default 2 s). */
  quietMs?: number;
  /** Heap growth since the last collection below which nothing is done (default 4 MB). */
  minGrowthBytes?: number;
  /** Event-loop utilization over the quiet period (0-1) above which the proxy counts as busy (default 0.05). */
  maxBusy?: number;
}

export class SettledGc {
  private timer: NodeJS.Timeout | undefined;
  private usedAfterLast = 0;
  /** How many collections ran (for tests). */
  runs = 0;
  /** How many quiet periods ended busy and were put off (for tests). */
  skips = 0;
  private readonly quietMs: number;
  private readonly minGrowthBytes: number;
  private readonly maxBusy: number;
  /** Event-loop utilization at the last touch, the start of the quiet period. */
  private loopAtTouch: EventLoopUtilization | undefined;

  constructor(opts: SettledGcOptions = {}) {
    this.quietMs = opts.quietMs ?? 2000;
    this.minGrowthBytes = opts.minGrowthBytes ?? 4 * 1024 * 1024;
    this.maxBusy = opts.maxBusy ?? 0.05;
  }

  /** Config changed: (re)start the quiet period. */
  touch(): void {
    this.loopAtTouch = performance.eventLoopUtilization();
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => this.settle(), this.quietMs);
      // An idle proxy is kept alive by its sockets, not by this timer.
      this.timer.unref();
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private settle(): void {
    this.timer = undefined;
    const collect = fullGc();
    if (!collect) return;
    if (this.loopAtTouch && performance.eventLoopUtilization(this.loopAtTouch).utilization > this.maxBusy) {
      // Serving traffic (or still applying the update that started the period, as after a large first
      // sync): try again after another quiet period rather than give up, or the garbage stays for good.
      this.skips++;
      this.touch();
      return;
    }
    if (getHeapStatistics().used_heap_size - this.usedAfterLast < this.minGrowthBytes) return;
    collect();
    this.runs++;
    this.usedAfterLast = getHeapStatistics().used_heap_size;
  }
}
