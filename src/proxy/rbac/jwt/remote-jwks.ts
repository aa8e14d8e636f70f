/**
 * A provider's remote JWKS: fetched on first need, shared by the requests waiting for it, kept for
 * cache_duration and refetched after. Sailfin fetches the URI directly with the platform fetch
 * rather than through `http_uri.cluster`, because this happens once per cache period, off the hot path.
 */
import { parseJwks, type Jwk } from './jwks.js';

export class RemoteJwks {
  private keys: Jwk[] | undefined;
  private fetchedAt = 0;
  private inflight: Promise<void> | undefined;
  /** Why the last fetch failed (for logs); cleared by a good fetch. */
  lastError: string | undefined;

  constructor(
    readonly uri: string,
    private readonly timeoutMs: number,
    private readonly cacheMs: number,
  ) {}

  /** The cached keys when still fresh, else undefined (call refresh()). */
  current(now = Date.now()): Jwk[] | undefined {
    return this.keys !== undefined && now - this.fetchedAt < this.cacheMs ? this.keys : undefined;
  }

  /** Fetches the set unless a fetch is already on its way; never rejects (failures leave current() empty). */
  refresh(): Promise<void> {
    return (this.inflight ??= this.fetchOnce().finally(() => (this.inflight = undefined)));
  }

  private async fetchOnce(): Promise<void> {
    try {
      const res = await fetch(this.uri, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      this.keys = parseJwks(await res.text());
      this.fetchedAt = Date.now();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
      // A failed fetch keeps a stale set out of use: the request fails closed with "Jwks remote fetch is failed".
      if (this.keys !== undefined && Date.now() - this.fetchedAt >= this.cacheMs) this.keys = undefined;
    }
  }
}
