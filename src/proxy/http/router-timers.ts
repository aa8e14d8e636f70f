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
    if (ms > 0 && this.globalTimer === undefined) this.globalTimer = deadlineQueue(ms).arm(this, fireGlobal);
  }

  protected clearGlobal(): void {
    if (this.globalTimer) {
      cancelDeadline(this.globalTimer);
      this.globalTimer = undefined;
    }
  }

  protected armPerTry(ms: number): void {
    if (ms > 0) this.perTryTimer = setTimeout(firePerTry, ms, this);
  }

  protected clearPerTry(): void {
    if (this.perTryTimer) {
      clearTimeout(this.perTryTimer);
      this.perTryTimer = undefined;
    }
  }

  protected armBackoff(ms: number): void {
    this.backoffTimer = setTimeout(fireBackoff, ms, this);
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

  fired(which: 'global' | 'perTry' | 'backoff'): void {
    if (which === 'global') {
      this.globalTimer = undefined;
      this.onGlobalTimeout();
    } else if (which === 'perTry') {
      this.perTryTimer = undefined;
      this.onPerTryTimeout();
    } else {
      this.backoffTimer = undefined;
      this.retryNow();
    }
  }
}

function fireGlobal(r: RouterTimers): void {
  r.fired('global');
}

function firePerTry(r: RouterTimers): void {
  r.fired('perTry');
}

function fireBackoff(r: RouterTimers): void {
  r.fired('backoff');
}
