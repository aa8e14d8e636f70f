/**
 * Sends finished spans to a Zipkin collector (POST collector_endpoint, Zipkin v2 JSON) through the
 * collector cluster, as Envoy's Zipkin tracer does. Spans are batched and flushed on a timer or when
 * a batch fills; the request path only pushes onto an array. A slow or dead collector costs dropped
 * spans (counted), never a delayed or failed request: the queue and the reports in flight are bounded.
 */
import type { Duplex } from 'node:stream';
import type { ProxyContext } from '../context.js';
import { HeaderList } from '../http/headers.js';
import { h1PoolFor } from '../http/upstream-pools.js';
import type { UpstreamCallbacks, UpstreamRequest } from '../http/upstream-types.js';
import type { Counter } from '../stats/store.js';
import type { ZipkinSpan } from './span.js';

/** Envoy flushes every 5 s or at 5 spans; a shorter timer here makes traces appear promptly locally. */
export const FLUSH_INTERVAL_MS = 1000;
const MIN_FLUSH_SPANS = 5;
const MAX_BATCH_SPANS = 256;
const MAX_QUEUED_SPANS = 4096;
const MAX_REPORTS_IN_FLIGHT = 2;
const REPORT_TIMEOUT_MS = 5000;

export interface ZipkinCollector {
  readonly cluster: string;
  readonly endpoint: string;
  /** Host header of the report; Envoy's default is the cluster name. */
  readonly hostname: string;
}

interface ReporterStats {
  spans_sent: Counter;
  reports_sent: Counter;
  reports_failed: Counter;
  reports_dropped: Counter;
  reports_skipped_no_cluster: Counter;
  spans_dropped: Counter;
  timer_flushed: Counter;
}

class Report implements UpstreamCallbacks {
  upstream: UpstreamRequest | null = null;
  private done = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly reporter: ZipkinReporter) {
    this.timer = setTimeout(onReportTimeout, REPORT_TIMEOUT_MS, this);
    this.timer.unref();
  }

  end(ok: boolean): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.reporter.reportDone(ok);
  }

  timeout(): void {
    this.upstream?.abort();
    this.end(false);
  }

  private status = 0;
  onUpstreamHeaders(status: number, _h: HeaderList, end: boolean): void {
    this.status = status;
    if (end) this.end(status < 300);
  }
  onUpstreamData(_c: Buffer, end: boolean): void {
    if (end) this.end(this.status < 300);
  }
  onUpstreamTrailers(): void {
    this.end(this.status < 300);
  }
  onUpstreamFailure(): void {
    this.end(false);
  }
  onUpstreamUpgrade(_h: HeaderList, socket: Duplex): void {
    socket.destroy();
    this.end(false);
  }
  onUpstreamWritable(): void {}
  onUpstreamConnected(): void {}
}

function onReportTimeout(r: Report): void {
  r.timeout();
}

function onFlushTimer(r: ZipkinReporter): void {
  r.timerFired();
}

export class ZipkinReporter {
  private queue: ZipkinSpan[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly stats: ReporterStats;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly collector: ZipkinCollector,
  ) {
    const s = ctx.stats;
    const c = (n: string) => s.counter(`tracing.zipkin.${n}`);
    this.stats = {
      spans_sent: c('spans_sent'),
      reports_sent: c('reports_sent'),
      reports_failed: c('reports_failed'),
      reports_dropped: c('reports_dropped'),
      reports_skipped_no_cluster: c('reports_skipped_no_cluster'),
      spans_dropped: c('spans_dropped'),
      timer_flushed: c('timer_flushed'),
    };
  }

  report(span: ZipkinSpan): void {
    if (this.queue.length >= MAX_QUEUED_SPANS) {
      this.stats.spans_dropped.inc();
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= MAX_BATCH_SPANS) this.flush();
    else this.armTimer();
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setTimeout(onFlushTimer, FLUSH_INTERVAL_MS, this);
    this.timer.unref();
  }

  timerFired(): void {
    this.timer = undefined;
    if (this.queue.length === 0) return;
    this.stats.timer_flushed.inc();
    this.flush();
  }

  /** Sends what is queued (up to a batch), if a report slot is free; the rest waits for the next flush. */
  flush(): void {
    if (this.queue.length === 0) return;
    if (this.inFlight >= MAX_REPORTS_IN_FLIGHT) {
      if (this.queue.length < MIN_FLUSH_SPANS * 100) this.armTimer();
      return;
    }
    const batch = this.queue.length <= MAX_BATCH_SPANS ? this.queue : this.queue.slice(0, MAX_BATCH_SPANS);
    this.queue = this.queue.length <= MAX_BATCH_SPANS ? [] : this.queue.slice(MAX_BATCH_SPANS);
    if (this.queue.length) this.armTimer();
    const cluster = this.ctx.clusters.get(this.collector.cluster);
    const host = cluster?.chooseHost({});
    if (!cluster || !host) {
      this.stats.reports_skipped_no_cluster.inc();
      this.stats.spans_dropped.inc(batch.length);
      return;
    }
    const body = Buffer.from(JSON.stringify(batch));
    const headers = HeaderList.fromObject({ 'content-type': 'application/json', 'content-length': body.length });
    const report = new Report(this);
    let r: UpstreamRequest | 'overflow';
    try {
      r = h1PoolFor(cluster, host).request(
        { method: 'POST', path: this.collector.endpoint, authority: this.collector.hostname, scheme: 'http', headers, hasBody: true, contentLength: body.length },
        report,
      );
    } catch {
      r = 'overflow';
    }
    if (r === 'overflow') {
      this.stats.reports_dropped.inc();
      this.stats.spans_dropped.inc(batch.length);
      return;
    }
    this.inFlight++;
    this.stats.spans_sent.inc(batch.length);
    cluster.stats.upstream_rq_total.inc();
    report.upstream = r;
    r.write(body, true);
  }

  reportDone(ok: boolean): void {
    this.inFlight--;
    if (ok) this.stats.reports_sent.inc();
    else this.stats.reports_failed.inc();
    if (this.queue.length >= MIN_FLUSH_SPANS) this.flush();
  }
}

const reporters = new WeakMap<ProxyContext, Map<string, ZipkinReporter>>();

/** One reporter per proxy and collector, shared by every HCM that reports there (config updates keep it). */
export function zipkinReporter(ctx: ProxyContext, collector: ZipkinCollector): ZipkinReporter {
  let m = reporters.get(ctx);
  if (!m) reporters.set(ctx, (m = new Map()));
  const key = `${collector.cluster}|${collector.endpoint}|${collector.hostname}`;
  let r = m.get(key);
  if (!r) m.set(key, (r = new ZipkinReporter(ctx, collector)));
  return r;
}
