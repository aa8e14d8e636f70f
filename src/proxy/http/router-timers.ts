/**
 * The router's timers: the route timeout (armed once the request is complete, as Envoy does), the
 * per-try timeout of the current attempt, and the back-off before a retry. A base class rather than
 * a member object so a request pays no extra allocation for them.
 */
import { cancelDeadline, deadlineQueue, type Deadline } from './deadline-queue.js';

export abstract class RouterTimers {
  private globalTimer: Deadline | undefined;
  private perTryTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;

  abstract onGlobalTimeout(): void;
  abstract onPerTryTimeout(): void;
  /** The back-off passed: make the next attempt. */
  abstract retryNow(): void;

  /** Arms the route timeout unless it is off (0) or already running. */
  protected armGlobal(ms: number): void {
    if (ms > 0 && this.globalTimer === undefined) this.globalTimer = deadlineQueue(ms).arm(this, RouterTimers.fireGlobal);
  }

  protected clearGlobal(): void {
    if (this.globalTimer) {
      cancelDeadline(this.globalTimer);
      this.globalTimer = undefined;
    }
  }

  protected armPerTry(ms: number): void {
    if (ms > 0) this.perTryTimer = setTimeout(RouterTimers.firePerTry, ms, this);
  }

  protected clearPerTry(): void {
    if (this.perTryTimer) {
      clearTimeout(this.perTryTimer);
      this.perTryTimer = undefined;
    }
  }

  protected armBackoff(ms: number): void {
    this.backoffTimer = setTimeout(RouterTimers.fireBackoff, ms, this);
  }

  /** Stops every timer; true when a back-off was pending (its retry slot must be given back). */
  protected clearAllTimers(): boolean {
    this.clearGlobal();
    this.clearPerTry();
    const b = this.backoffTimer;
    if (!b) return false;
    clearTimeout(b);
    this.backoffTimer = undefined;
    return true;
  }

  // Timer callbacks: static, so they take the router as the timer's argument (no closure per
  // request) and may still clear its private handles.
  private static fireGlobal(r: RouterTimers): void {
    r.globalTimer = undefined;
    r.onGlobalTimeout();
  }

  private static firePerTry(r: RouterTimers): void {
    r.perTryTimer = undefined;
    r.onPerTryTimeout();
  }

  private static fireBackoff(r: RouterTimers): void {
    r.backoffTimer = undefined;
    r.retryNow();
  }
}
