/**
 * Passive health checking (Envoy's consecutive_5xx and consecutive_gateway_failure detectors, with
 * local-origin errors folded into HTTP codes as when split_external_local_origin_errors is off).
 * A host is ejected the moment its run of failures reaches the threshold, unless that would put
 * more than max_ejection_percent of the cluster out; it returns at the first interval sweep after
 * base_ejection_time × (times ejected), capped by max_ejection_time.
 */
import type { OutlierResult } from './api.js';
import type { OutlierConfig } from './cluster-config.js';
import type { ClusterStatsImpl } from './cluster-stats.js';
import type { HostImpl } from './host.js';

type EjectionType = 'consecutive_5xx' | 'consecutive_gateway_failure';

export class OutlierDetector {
  private readonly timer: NodeJS.Timeout;
  private active = 0;
  private closed = false;

  constructor(
    private readonly cfg: OutlierConfig,
    private readonly stats: ClusterStatsImpl,
    /** The hosts currently in the cluster (the denominator of max_ejection_percent). */
    private readonly hosts: () => readonly HostImpl[],
    /** Called after any ejection or return, so the load balancer is rebuilt. */
    private readonly onHealthChange: () => void,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.sweep(), cfg.intervalMs);
    // The sweep must never keep a proxy process (or a test) alive by itself.
    this.timer.unref();
  }

  report(host: HostImpl, result: OutlierResult): void {
    if (this.closed) return;
    let status: number;
    switch (result.kind) {
      case 'http':
        status = result.status;
        break;
      case 'success':
        status = 200;
        break;
      case 'timeout':
        status = 504;
        break;
      default:
        // connect failures and resets count as 503 when local-origin errors are not split out.
        status = 503;
    }
    const o = host.outlier;
    if (status < 500) {
      o.consecutive5xx = 0;
      o.consecutiveGatewayFailure = 0;
      return;
    }
    if (status === 502 || status === 503 || status === 504) {
      if (++o.consecutiveGatewayFailure === this.cfg.consecutiveGatewayFailure && this.cfg.consecutiveGatewayFailure > 0) {
        this.detected(host, 'consecutive_gateway_failure');
      }
    } else {
      o.consecutiveGatewayFailure = 0;
    }
    if (++o.consecutive5xx === this.cfg.consecutive5xx && this.cfg.consecutive5xx > 0) this.detected(host, 'consecutive_5xx');
  }

  private detected(host: HostImpl, type: EjectionType): void {
    const s = this.stats;
    const o = host.outlier;
    if (type === 'consecutive_5xx') {
      s.ejections_detected_consecutive_5xx.inc();
      o.consecutive5xx = 0;
    } else {
      s.ejections_detected_consecutive_gateway_failure.inc();
      o.consecutiveGatewayFailure = 0;
    }
    if (host.ejected) return;
    const enforcing = type === 'consecutive_5xx' ? this.cfg.enforcingConsecutive5xx : this.cfg.enforcingConsecutiveGatewayFailure;
    if (enforcing < 100 && Math.random() * 100 >= enforcing) return;
    const total = this.hosts().length;
    if (total === 0 || (100 * (this.active + 1)) / total > this.cfg.maxEjectionPercent) {
      s.ejections_overflow.inc();
      return;
    }
    host.ejected = true;
    o.numEjections++;
    o.ejectedAt = this.now();
    this.active++;
    s.ejections_active.inc();
    s.ejections_total.inc();
    s.ejections_enforced_total.inc();
    if (type === 'consecutive_5xx') {
      s.ejections_consecutive_5xx.inc();
      s.ejections_enforced_consecutive_5xx.inc();
    } else {
      s.ejections_enforced_consecutive_gateway_failure.inc();
    }
    this.onHealthChange();
  }

  /** The interval sweep: return hosts whose time is up; slowly forgive hosts that stayed healthy. */
  sweep(): void {
    const now = this.now();
    let changed = false;
    for (const host of this.hosts()) {
      const o = host.outlier;
      if (host.ejected) {
        const duration = Math.min(this.cfg.baseEjectionTimeMs * o.numEjections, Math.max(this.cfg.maxEjectionTimeMs, this.cfg.baseEjectionTimeMs));
        if (now - o.ejectedAt >= duration) {
          host.ejected = false;
          o.ejectedAt = now;
          this.active--;
          this.stats.ejections_active.dec();
          changed = true;
        }
      } else if (o.numEjections > 0 && now - o.ejectedAt >= this.cfg.baseEjectionTimeMs) {
        // A host that has been back for a while counts as ejected one time fewer next time.
        o.numEjections--;
        o.ejectedAt = now;
      }
    }
    if (changed) this.onHealthChange();
  }

  /** Hosts leaving the cluster take their ejection with them. */
  hostsRemoved(removed: readonly HostImpl[]): void {
    for (const h of removed) {
      if (h.ejected) {
        h.ejected = false;
        this.active--;
        this.stats.ejections_active.dec();
      }
    }
  }

  /** The cluster was replaced or removed: stop sweeping and take this detector's ejections off the gauge. */
  close(): void {
    clearInterval(this.timer);
    this.closed = true;
    this.stats.ejections_active.dec(this.active);
    this.active = 0;
  }
}
