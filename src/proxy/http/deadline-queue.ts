/**
 * Timeouts armed once per request or per pooled connection (stream idle, route timeout, upstream
 * idle). Why not setTimeout for each: almost all of them are cancelled long before they fire, and a
 * Node Timeout per request (object, timer-list insertion, libuv clock read, then the unlink) is a
 * visible share of a small proxied request. Deadlines of one duration are armed in time order, so
 * a plain FIFO per duration keeps them sorted; one Node timer per queue waits for the earliest.
 * Cancelling only clears the slot; the queue drops dead slots when it reaches them, and compacts
 * itself when they pile up (a 5-minute idle timeout armed 10,000 times a second).
 */
import { performance } from 'node:perf_hooks';

/** One armed deadline; `target` is null once cancelled or fired. */
export interface Deadline {
  target: object | null;
  fire: (target: never) => void;
  due: number;
  queue: DeadlineQueue;
}

/** Cancels a deadline (no-op when undefined, already fired or already cancelled). */
export function cancelDeadline(d: Deadline | undefined): void {
  if (d !== undefined && d.target !== null) {
    d.target = null;
    d.queue.live--;
  }
}

export class DeadlineQueue {
  private slots: Deadline[] = [];
  private head = 0;
  /** Armed deadlines not yet fired or cancelled. */
  live = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly runBound = this.run.bind(this);

  constructor(readonly ms: number) {}

  /** Calls `fire(target)` after `ms` unless cancelled first. */
  arm<T extends object>(target: T, fire: (target: T) => void): Deadline {
    const d: Deadline = { target, fire: fire as (t: never) => void, due: performance.now() + this.ms, queue: this };
    this.slots.push(d);
    this.live++;
    // While run() walks the slots it owns them, and it schedules the next wake-up itself.
    if (this.running) return d;
    if (this.timer === undefined) this.schedule(this.ms);
    else if (this.slots.length - this.head > 1024 && this.slots.length - this.head > 4 * this.live) this.compact();
    return d;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(this.runBound, Math.max(1, Math.ceil(ms)));
    // Pending deadlines never keep the process alive by themselves; the sockets they guard do.
    this.timer.unref();
  }

  private run(): void {
    this.timer = undefined;
    this.running = true;
    const now = performance.now();
    const slots = this.slots;
    let i = this.head;
    while (i < slots.length) {
      const d = slots[i];
      if (d.target === null) {
        i++;
        continue;
      }
      if (d.due > now) break;
      i++;
      const target = d.target;
      d.target = null;
      this.live--;
      try {
        d.fire(target as never);
      } catch (err) {
        // One failing timeout must not strand every later deadline in this queue.
        process.nextTick(() => {
          throw err;
        });
      }
    }
    this.running = false;
    this.head = i;
    if (this.head === slots.length) {
      this.slots = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > slots.length) this.compact();
    if (this.timer === undefined && this.live > 0) {
      const next = this.firstLive();
      if (next) this.schedule(next.due - now);
    }
  }

  private firstLive(): Deadline | undefined {
    const slots = this.slots;
    for (let i = this.head; i < slots.length; i++) if (slots[i].target !== null) return slots[i];
    return undefined;
  }

  private compact(): void {
    const kept: Deadline[] = [];
    const slots = this.slots;
    for (let i = this.head; i < slots.length; i++) if (slots[i].target !== null) kept.push(slots[i]);
    this.slots = kept;
    this.head = 0;
  }
}

const queues = new Map<number, DeadlineQueue>();

/** The shared queue for deadlines `ms` from when they are armed. */
export function deadlineQueue(ms: number): DeadlineQueue {
  let q = queues.get(ms);
  if (q === undefined) queues.set(ms, (q = new DeadlineQueue(ms)));
  return q;
}
