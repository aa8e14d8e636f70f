/**
 * Circuit breakers: counted resources shared by every user of one cluster object (all listeners,
 * routes and pools), with Envoy's gauges `circuit_breakers.default.{cx,rq_pending,rq,rq_retry}_open`
 * (1 while the limit is reached) and, with track_remaining, `remaining_*`.
 */
import type { Resource, ResourceManager } from './api.js';
import type { BreakerThresholds } from './cluster-config.js';
import type { Gauge, StatsStore } from '../stats/store.js';

export class ResourceImpl implements Resource {
  active = 0;
  private openGauge?: Gauge;
  private remainingGauge?: Gauge;

  constructor(
    readonly max: number,
    private readonly stats: StatsStore,
    private readonly name: string,
    private readonly remainingName: string | undefined,
  ) {}

  canCreate(): boolean {
    return this.active < this.max;
  }

  inc(): void {
    this.active++;
    this.update();
  }

  dec(): void {
    if (this.active > 0) this.active--;
    this.update();
  }

  private update(): void {
    // Gauges are registered on first use: most clusters of a large mesh never carry traffic.
    (this.openGauge ??= this.stats.gauge(this.name)).value = this.active >= this.max ? 1 : 0;
    if (this.remainingName) (this.remainingGauge ??= this.stats.gauge(this.remainingName)).value = this.max > this.active ? this.max - this.active : 0;
  }
}

export class ResourceManagerImpl implements ResourceManager {
  readonly connections: ResourceImpl;
  readonly pendingRequests: ResourceImpl;
  readonly requests: ResourceImpl;
  readonly retries: ResourceImpl;

  constructor(t: BreakerThresholds, stats: StatsStore, prefix: string) {
    const p = `${prefix}circuit_breakers.default.`;
    const remaining = (name: string): string | undefined => (t.trackRemaining ? p + name : undefined);
    this.connections = new ResourceImpl(t.maxConnections, stats, p + 'cx_open', remaining('remaining_cx'));
    this.pendingRequests = new ResourceImpl(t.maxPendingRequests, stats, p + 'rq_pending_open', remaining('remaining_pending'));
    this.requests = new ResourceImpl(t.maxRequests, stats, p + 'rq_open', remaining('remaining_rq'));
    this.retries = new ResourceImpl(t.maxRetries, stats, p + 'rq_retry_open', remaining('remaining_retries'));
  }
}
