/**
 * A cap on response bytes written to proxies but not yet taken by them. When hundreds of proxies
 * connect at once, each is owed megabytes (every cluster, endpoint and route of the mesh); written all
 * at once, those sit in memory until each slow reader catches up. Waiting for room before writing keeps
 * the control plane's memory flat whatever the number of proxies; one response larger than the cap
 * still goes out when nothing else is in flight.
 */
import { SailfinError } from '../common/errors.js';

export class WriteBudget {
  private inFlight = 0;
  private readonly waiting: Array<{ bytes: number; grant: () => void }> = [];

  constructor(readonly maxBytes: number) {}

  get bytesInFlight(): number {
    return this.inFlight;
  }

  /** Resolves with a release function once `bytes` fit; call it when the write completed or failed. */
  acquire(bytes: number): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        this.inFlight += bytes;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.inFlight -= bytes;
          this.drain();
        });
      };
      if (this.waiting.length === 0 && this.fits(bytes)) grant();
      else this.waiting.push({ bytes, grant });
    });
  }

  private fits(bytes: number): boolean {
    return this.inFlight === 0 || this.inFlight + bytes <= this.maxBytes;
  }

  private drain(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) this.waiting.shift()!.grant();
  }
}

export const WRITE_BUDGET_ENV = 'SAILFIN_XDS_WRITE_BUDGET_MB';
const DEFAULT_WRITE_BUDGET_MB = 16;

/**
 * The cap in bytes from SAILFIN_XDS_WRITE_BUDGET_MB (megabytes, default 16; unset or empty means the
 * default). Anything else than a positive number is refused with an error naming the variable, as a
 * bad env value elsewhere is: NaN or 0 would silently let one response out at a time.
 */
export function writeBudgetBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[WRITE_BUDGET_ENV]?.trim();
  if (!raw) return DEFAULT_WRITE_BUDGET_MB * 1024 * 1024;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb <= 0) {
    throw new SailfinError('schema', `${JSON.stringify(env[WRITE_BUDGET_ENV])} is not a positive number of megabytes (unset it for the default, ${DEFAULT_WRITE_BUDGET_MB})`, { field: WRITE_BUDGET_ENV });
  }
  return Math.round(mb * 1024 * 1024);
}
