/**
 * The per-cluster stats of api.ts ClusterStats, looked up in the store once per cluster object so
 * the request path only bumps fields. A cluster replaced by a new version gets the same stat objects
 * (the store is keyed by name), so counters carry on and in-flight work on the old version still
 * decrements the gauges everyone reads.
 */
import type { ClusterStats } from './api.js';
import type { Counter, Gauge, Histogram, StatsStore } from '../stats/store.js';

export class ClusterStatsImpl implements ClusterStats {
  readonly upstream_rq_total: Counter;
  readonly upstream_rq_active: Gauge;
  readonly upstream_rq_pending_total: Counter;
  readonly upstream_rq_pending_active: Gauge;
  readonly upstream_rq_pending_overflow: Counter;
  readonly upstream_rq_timeout: Counter;
  readonly upstream_rq_retry: Counter;
  readonly upstream_rq_retry_success: Counter;
  readonly upstream_rq_retry_overflow: Counter;
  readonly upstream_rq_per_try_timeout: Counter;
  readonly upstream_cx_total: Counter;
  readonly upstream_cx_active: Gauge;
  readonly upstream_cx_connect_fail: Counter;
  readonly upstream_cx_connect_timeout: Counter;
  readonly upstream_cx_overflow: Counter;
  readonly upstream_cx_destroy: Counter;
  readonly upstream_rq_2xx: Counter;
  readonly upstream_rq_3xx: Counter;
  readonly upstream_rq_4xx: Counter;
  readonly upstream_rq_5xx: Counter;
  readonly upstream_cx_none_healthy: Counter;
  readonly upstream_rq_time: Histogram;
  // Beyond the contract: membership, outlier and TLS stats this module bumps itself.
  readonly membership_total: Gauge;
  readonly membership_healthy: Gauge;
  readonly membership_change: Counter;
  readonly update_success: Counter;
  readonly update_rejected: Counter;
  readonly update_empty: Counter;
  readonly ejections_active: Gauge;
  readonly ejections_total: Counter;
  readonly ejections_enforced_total: Counter;
  readonly ejections_overflow: Counter;
  readonly ejections_consecutive_5xx: Counter;
  readonly ejections_enforced_consecutive_5xx: Counter;
  readonly ejections_detected_consecutive_5xx: Counter;
  readonly ejections_enforced_consecutive_gateway_failure: Counter;
  readonly ejections_detected_consecutive_gateway_failure: Counter;
  readonly upstream_cx_connect_ms: Histogram;
  readonly upstream_cx_length_ms: Histogram;
  readonly ssl_handshake: Counter;
  readonly ssl_connection_error: Counter;
  readonly ssl_fail_verify_san: Counter;

  constructor(private readonly store: StatsStore, readonly prefix: string) {
    const c = (n: string): Counter => store.counter(prefix + n);
    const g = (n: string): Gauge => store.gauge(prefix + n);
    this.upstream_rq_total = c('upstream_rq_total');
    this.upstream_rq_active = g('upstream_rq_active');
    this.upstream_rq_pending_total = c('upstream_rq_pending_total');
    this.upstream_rq_pending_active = g('upstream_rq_pending_active');
    this.upstream_rq_pending_overflow = c('upstream_rq_pending_overflow');
    this.upstream_rq_timeout = c('upstream_rq_timeout');
    this.upstream_rq_retry = c('upstream_rq_retry');
    this.upstream_rq_retry_success = c('upstream_rq_retry_success');
    this.upstream_rq_retry_overflow = c('upstream_rq_retry_overflow');
    this.upstream_rq_per_try_timeout = c('upstream_rq_per_try_timeout');
    this.upstream_cx_total = c('upstream_cx_total');
    this.upstream_cx_active = g('upstream_cx_active');
    this.upstream_cx_connect_fail = c('upstream_cx_connect_fail');
    this.upstream_cx_connect_timeout = c('upstream_cx_connect_timeout');
    this.upstream_cx_overflow = c('upstream_cx_overflow');
    this.upstream_cx_destroy = c('upstream_cx_destroy');
    this.upstream_rq_2xx = c('upstream_rq_2xx');
    this.upstream_rq_3xx = c('upstream_rq_3xx');
    this.upstream_rq_4xx = c('upstream_rq_4xx');
    this.upstream_rq_5xx = c('upstream_rq_5xx');
    this.upstream_cx_none_healthy = c('upstream_cx_none_healthy');
    this.upstream_rq_time = store.histogram(prefix + 'upstream_rq_time');
    this.membership_total = g('membership_total');
    this.membership_healthy = g('membership_healthy');
    this.membership_change = c('membership_change');
    this.update_success = c('update_success');
    this.update_rejected = c('update_rejected');
    this.update_empty = c('update_empty');
    this.ejections_active = g('outlier_detection.ejections_active');
    this.ejections_total = c('outlier_detection.ejections_total');
    this.ejections_enforced_total = c('outlier_detection.ejections_enforced_total');
    this.ejections_overflow = c('outlier_detection.ejections_overflow');
    this.ejections_consecutive_5xx = c('outlier_detection.ejections_consecutive_5xx');
    this.ejections_enforced_consecutive_5xx = c('outlier_detection.ejections_enforced_consecutive_5xx');
    this.ejections_detected_consecutive_5xx = c('outlier_detection.ejections_detected_consecutive_5xx');
    this.ejections_enforced_consecutive_gateway_failure = c('outlier_detection.ejections_enforced_consecutive_gateway_failure');
    this.ejections_detected_consecutive_gateway_failure = c('outlier_detection.ejections_detected_consecutive_gateway_failure');
    this.upstream_cx_connect_ms = store.histogram(prefix + 'upstream_cx_connect_ms');
    this.upstream_cx_length_ms = store.histogram(prefix + 'upstream_cx_length_ms');
    this.ssl_handshake = c('ssl.handshake');
    this.ssl_connection_error = c('ssl.connection_error');
    this.ssl_fail_verify_san = c('ssl.fail_verify_san');
  }

  other(suffix: string): Counter {
    return this.store.counter(this.prefix + suffix);
  }
}
