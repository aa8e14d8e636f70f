/**
 * Reconnect delays: exponential with full jitter, so a control-plane restart is not met by every proxy
 * reconnecting in the same millisecond.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  multiplier?: number;
  /** 0..1: the fraction of each delay that is randomized (1 = anywhere in [0, delay]). */
  jitter?: number;
}

export class Backoff {
  private attempt = 0;
  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; grows until reset(). */
  next(): number {
    const { initialMs, maxMs, multiplier = 2, jitter = 0.5 } = this.options;
    const ceiling = Math.min(maxMs, initialMs * multiplier ** this.attempt);
    this.attempt++;
    return Math.round(ceiling * (1 - jitter) + ceiling * jitter * this.random());
  }

  /** After a healthy stream, start again from the initial delay. */
  reset(): void {
    this.attempt = 0;
  }
}
