/**
 * A cap on response bytes written to proxies but not yet taken by them. When hundreds of proxies
 * connect at once, each is owed megabytes (every cluster, endpoint and route of the mesh); written all
 * at once, those sit in memory until each slow reader catches up. Waiting for room before writing keeps
 * the control plane's memory flat whatever the number of proxies; one response larger than the cap
 * still goes out when nothing else is in flight.
 */
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
