/**
 * Coalesces bursts of push requests: config changes tend to arrive in batches (a `kubectl apply` of many
 * objects, an endpoint flapping), and one push per burst is far cheaper than one per event. A push fires
 * when no new request arrived for `quietMs`, or at the latest `maxDelayMs` after the first request of the burst.
 */
import type { ConnectedProxy, PushRequest } from './generator.js';
import type { XdsTypeUrl } from './protos.js';

export interface DebounceOptions {
  /** Quiet period after the last request (Istio's PILOT_DEBOUNCE_AFTER, 100 ms). */
  quietMs: number;
  /** Upper bound from the first request of a burst (Istio's PILOT_DEBOUNCE_MAX is 10 s; bursts here are short). */
  maxDelayMs: number;
}

/** The union of a burst's requests. `types`/`proxies` undefined means "all". */
export interface MergedPush {
  types: Set<XdsTypeUrl> | undefined;
  proxies: ((proxy: ConnectedProxy) => boolean) | undefined;
  reasons: string[];
  requests: number;
}

export function mergePush(into: MergedPush | undefined, req: PushRequest): MergedPush {
  if (!into) {
    return { types: req.types ? new Set(req.types) : undefined, proxies: req.proxies, reasons: [req.reason], requests: 1 };
  }
  let types = into.types;
  if (!types || !req.types) types = undefined;
  else for (const t of req.types) types.add(t);
  let proxies = into.proxies;
  if (!proxies || !req.proxies) proxies = undefined;
  else {
    const a = proxies;
    const b = req.proxies;
    proxies = (p) => a(p) || b(p);
  }
  const reasons = into.reasons.includes(req.reason) ? into.reasons : [...into.reasons, req.reason];
  return { types, proxies, reasons, requests: into.requests + 1 };
}

export class PushDebouncer {
  private pending: MergedPush | undefined;
  private firstAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: DebounceOptions,
    private readonly flush: (push: MergedPush) => void,
  ) {}

  request(req: PushRequest): void {
    if (!this.pending) this.firstAt = Date.now();
    this.pending = mergePush(this.pending, req);
    if (this.timer) clearTimeout(this.timer);
    const untilMax = this.firstAt + this.options.maxDelayMs - Date.now();
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.min(this.options.quietMs, untilMax)));
  }

  /** Send what is pending now (used on shutdown and by tests that do not want to wait). */
  fire(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const push = this.pending;
    this.pending = undefined;
    if (push) this.flush(push);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}
