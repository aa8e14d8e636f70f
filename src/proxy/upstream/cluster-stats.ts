/**
 * The per-cluster stats of api.ts ClusterStats, registered in the store lazily: the core set (request,
 * connection, overflow and response-class counts, membership) when the cluster first carries traffic,
 * the rest (outlier, TLS, connection histograms) when first bumped. A sidecar with a 1,000-service
 * config would otherwise hold ~50 stat objects per cluster that most never use (Istio's default stats
 * matcher hides them anyway). Either way each stat is looked up once per
 * cluster object, so the request path only bumps fields. A replaced cluster gets the same stat
 * objects (the store is keyed by name), so counters carry on and in-flight work on the old version
 * still decrements the gauges everyone reads.
 */
import type { ClusterStats } from './api.js';
import type { Counter, Gauge, Histogram, StatsStore } from '../stats/store.js';

/** The stats a cluster shows as soon as it is used. */
const CORE = [
  'upstream_rq_total',
  'upstream_rq_pending_total',
  'upstream_rq_pending_overflow',
  'upstream_rq_timeout',
  'upstream_rq_retry',
  'upstream_rq_retry_overflow',
  'upstream_cx_total',
  'upstream_cx_connect_fail',
  'upstream_cx_overflow',
  'upstream_cx_none_healthy',
  'upstream_rq_active',
  'upstream_rq_pending_active',
  'upstream_cx_active',
  'membership_total',
  'membership_healthy',
  'upstream_rq_retry_success',
  'upstream_rq_per_try_timeout',
  'upstream_cx_connect_timeout',
  'upstream_cx_destroy',
  'upstream_rq_2xx',
  'upstream_rq_3xx',
  'upstream_rq_4xx',
  'upstream_rq_5xx',
  'upstream_rq_time',
] as const;

export class ClusterStatsImpl implements ClusterStats {
  private _upstream_rq_total?: Counter;
  private _upstream_rq_pending_total?: Counter;
  private _upstream_rq_pending_overflow?: Counter;
  private _upstream_rq_timeout?: Counter;
  private _upstream_rq_retry?: Counter;
  private _upstream_rq_retry_overflow?: Counter;
  private _upstream_cx_total?: Counter;
  private _upstream_cx_connect_fail?: Counter;
  private _upstream_cx_overflow?: Counter;
  private _upstream_cx_none_healthy?: Counter;
  private _upstream_rq_active?: Gauge;
  private _upstream_rq_pending_active?: Gauge;
  private _upstream_cx_active?: Gauge;
  private _membership_total?: Gauge;
  private _membership_healthy?: Gauge;
  private _upstream_rq_retry_success?: Counter;
  private _upstream_rq_per_try_timeout?: Counter;
  private _upstream_cx_connect_timeout?: Counter;
  private _upstream_cx_destroy?: Counter;
  private _upstream_rq_2xx?: Counter;
  private _upstream_rq_3xx?: Counter;
  private _upstream_rq_4xx?: Counter;
  private _upstream_rq_5xx?: Counter;
  private _upstream_rq_time?: Histogram;
  private _membership_change?: Counter;
  private _update_success?: Counter;
  private _update_empty?: Counter;
  private _ejections_active?: Gauge;
  private _ejections_total?: Counter;
  private _ejections_enforced_total?: Counter;
  private _ejections_overflow?: Counter;
  private _ejections_consecutive_5xx?: Counter;
  private _ejections_enforced_consecutive_5xx?: Counter;
  private _ejections_detected_consecutive_5xx?: Counter;
  private _ejections_enforced_consecutive_gateway_failure?: Counter;
  private _ejections_detected_consecutive_gateway_failure?: Counter;
  private _upstream_cx_connect_ms?: Histogram;
  private _upstream_cx_length_ms?: Histogram;
  private _ssl_handshake?: Counter;
  private _ssl_connection_error?: Counter;
  private _ssl_fail_verify_san?: Counter;

  private materialized = false;

  constructor(private readonly store: StatsStore, readonly prefix: string) {}

  /**
   * Registers the stats every used cluster shows (zeros included), once, when the cluster first
   * carries traffic; idle clusters of a large mesh then cost no stat objects at all.
   */
  materialize(): void {
    if (this.materialized) return;
    this.materialized = true;
    for (const name of CORE) (this as unknown as Record<string, unknown>)[name];
  }

  get upstream_rq_retry_success(): Counter {
    return (this._upstream_rq_retry_success ??= this.store.counter(this.prefix + 'upstream_rq_retry_success'));
  }

  get upstream_rq_per_try_timeout(): Counter {
    return (this._upstream_rq_per_try_timeout ??= this.store.counter(this.prefix + 'upstream_rq_per_try_timeout'));
  }

  get upstream_cx_connect_timeout(): Counter {
    return (this._upstream_cx_connect_timeout ??= this.store.counter(this.prefix + 'upstream_cx_connect_timeout'));
  }

  get upstream_cx_destroy(): Counter {
    return (this._upstream_cx_destroy ??= this.store.counter(this.prefix + 'upstream_cx_destroy'));
  }

  get upstream_rq_2xx(): Counter {
    return (this._upstream_rq_2xx ??= this.store.counter(this.prefix + 'upstream_rq_2xx'));
  }

  get upstream_rq_3xx(): Counter {
    return (this._upstream_rq_3xx ??= this.store.counter(this.prefix + 'upstream_rq_3xx'));
  }

  get upstream_rq_4xx(): Counter {
    return (this._upstream_rq_4xx ??= this.store.counter(this.prefix + 'upstream_rq_4xx'));
  }

  get upstream_rq_5xx(): Counter {
    return (this._upstream_rq_5xx ??= this.store.counter(this.prefix + 'upstream_rq_5xx'));
  }

  get upstream_rq_time(): Histogram {
    return (this._upstream_rq_time ??= this.store.histogram(this.prefix + 'upstream_rq_time'));
  }

  get membership_change(): Counter {
    return (this._membership_change ??= this.store.counter(this.prefix + 'membership_change'));
  }

  get update_success(): Counter {
    return (this._update_success ??= this.store.counter(this.prefix + 'update_success'));
  }

  get update_empty(): Counter {
    return (this._update_empty ??= this.store.counter(this.prefix + 'update_empty'));
  }

  get ejections_active(): Gauge {
    return (this._ejections_active ??= this.store.gauge(this.prefix + 'outlier_detection.ejections_active'));
  }

  get ejections_total(): Counter {
    return (this._ejections_total ??= this.store.counter(this.prefix + 'outlier_detection.ejections_total'));
  }

  get ejections_enforced_total(): Counter {
    return (this._ejections_enforced_total ??= this.store.counter(this.prefix + 'outlier_detection.ejections_enforced_total'));
  }

  get ejections_overflow(): Counter {
    return (this._ejections_overflow ??= this.store.counter(this.prefix + 'outlier_detection.ejections_overflow'));
  }

  get ejections_consecutive_5xx(): Counter {
    return (this._ejections_consecutive_5xx ??= this.store.counter(this.prefix + 'outlier_detection.ejections_consecutive_5xx'));
  }

  get ejections_enforced_consecutive_5xx(): Counter {
    return (this._ejections_enforced_consecutive_5xx ??= this.store.counter(this.prefix + 'outlier_detection.ejections_enforced_consecutive_5xx'));
  }

  get ejections_detected_consecutive_5xx(): Counter {
    return (this._ejections_detected_consecutive_5xx ??= this.store.counter(this.prefix + 'outlier_detection.ejections_detected_consecutive_5xx'));
  }

  get ejections_enforced_consecutive_gateway_failure(): Counter {
    return (this._ejections_enforced_consecutive_gateway_failure ??= this.store.counter(this.prefix + 'outlier_detection.ejections_enforced_consecutive_gateway_failure'));
  }

  get ejections_detected_consecutive_gateway_failure(): Counter {
    return (this._ejections_detected_consecutive_gateway_failure ??= this.store.counter(this.prefix + 'outlier_detection.ejections_detected_consecutive_gateway_failure'));
  }

  get upstream_cx_connect_ms(): Histogram {
    return (this._upstream_cx_connect_ms ??= this.store.histogram(this.prefix + 'upstream_cx_connect_ms'));
  }

  get upstream_cx_length_ms(): Histogram {
    return (this._upstream_cx_length_ms ??= this.store.histogram(this.prefix + 'upstream_cx_length_ms'));
  }

  get ssl_handshake(): Counter {
    return (this._ssl_handshake ??= this.store.counter(this.prefix + 'ssl.handshake'));
  }

  get ssl_connection_error(): Counter {
    return (this._ssl_connection_error ??= this.store.counter(this.prefix + 'ssl.connection_error'));
  }

  get ssl_fail_verify_san(): Counter {
    return (this._ssl_fail_verify_san ??= this.store.counter(this.prefix + 'ssl.fail_verify_san'));
  }

  get upstream_rq_total(): Counter {
    return (this._upstream_rq_total ??= this.store.counter(this.prefix + 'upstream_rq_total'));
  }

  get upstream_rq_pending_total(): Counter {
    return (this._upstream_rq_pending_total ??= this.store.counter(this.prefix + 'upstream_rq_pending_total'));
  }

  get upstream_rq_pending_overflow(): Counter {
    return (this._upstream_rq_pending_overflow ??= this.store.counter(this.prefix + 'upstream_rq_pending_overflow'));
  }

  get upstream_rq_timeout(): Counter {
    return (this._upstream_rq_timeout ??= this.store.counter(this.prefix + 'upstream_rq_timeout'));
  }

  get upstream_rq_retry(): Counter {
    return (this._upstream_rq_retry ??= this.store.counter(this.prefix + 'upstream_rq_retry'));
  }

  get upstream_rq_retry_overflow(): Counter {
    return (this._upstream_rq_retry_overflow ??= this.store.counter(this.prefix + 'upstream_rq_retry_overflow'));
  }

  get upstream_cx_total(): Counter {
    return (this._upstream_cx_total ??= this.store.counter(this.prefix + 'upstream_cx_total'));
  }

  get upstream_cx_connect_fail(): Counter {
    return (this._upstream_cx_connect_fail ??= this.store.counter(this.prefix + 'upstream_cx_connect_fail'));
  }

  get upstream_cx_overflow(): Counter {
    return (this._upstream_cx_overflow ??= this.store.counter(this.prefix + 'upstream_cx_overflow'));
  }

  get upstream_cx_none_healthy(): Counter {
    return (this._upstream_cx_none_healthy ??= this.store.counter(this.prefix + 'upstream_cx_none_healthy'));
  }

  get upstream_rq_active(): Gauge {
    return (this._upstream_rq_active ??= this.store.gauge(this.prefix + 'upstream_rq_active'));
  }

  get upstream_rq_pending_active(): Gauge {
    return (this._upstream_rq_pending_active ??= this.store.gauge(this.prefix + 'upstream_rq_pending_active'));
  }

  get upstream_cx_active(): Gauge {
    return (this._upstream_cx_active ??= this.store.gauge(this.prefix + 'upstream_cx_active'));
  }

  get membership_total(): Gauge {
    return (this._membership_total ??= this.store.gauge(this.prefix + 'membership_total'));
  }

  get membership_healthy(): Gauge {
    return (this._membership_healthy ??= this.store.gauge(this.prefix + 'membership_healthy'));
  }

  private others?: Map<string, Counter>;

  /** Cached by suffix, so a per-request caller (e.g. upstream_rq_503) pays no string concatenation. */
  other(suffix: string): Counter {
    const m = (this.others ??= new Map());
    let c = m.get(suffix);
    if (!c) m.set(suffix, (c = this.store.counter(this.prefix + suffix)));
    return c;
  }
}
