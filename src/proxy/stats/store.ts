/**
 * Envoy-style statistics: counters, gauges and histograms named by a stable dotted scheme
 * (`cluster.<name>.upstream_rq_total`), optionally with labels for Istio's standard metrics
 * (`istio_requests_total{reporter="source",…}`). Components look their stats up once, when
 * config is compiled, and keep the objects; the request path only bumps fields.
 */

export type Labels = Readonly<Record<string, string>>;

export class Counter {
  value = 0;
  constructor(readonly name: string, readonly labels?: Labels) {}
  inc(by = 1): void {
    this.value += by;
  }
}

export class Gauge {
  value = 0;
  constructor(readonly name: string, readonly labels?: Labels) {}
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
  set(v: number): void {
    this.value = v;
  }
}

/** Envoy's default histogram bucket bounds (milliseconds for latency histograms). */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

export class Histogram {
  /** counts[i] = samples <= bounds[i] (not cumulative); the last slot is +Inf. */
  readonly counts: number[];
  count = 0;
  sum = 0;
  constructor(readonly name: string, readonly bounds: readonly number[] = DEFAULT_BUCKETS, readonly labels?: Labels) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }
  record(v: number): void {
    this.count++;
    this.sum += v;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
  }
  /** Value at quantile q (0..1), interpolated inside the bucket; for admin/debug output. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const target = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i];
      if (seen + c >= target && c > 0) {
        const lo = i === 0 ? 0 : this.bounds[i - 1];
        const hi = i < this.bounds.length ? this.bounds[i] : lo * 2 || 1;
        return lo + ((target - seen) / c) * (hi - lo);
      }
      seen += c;
    }
    return this.bounds[this.bounds.length - 1];
  }
}

function keyOf(name: string, labels?: Labels): string {
  if (!labels) return name;
  const keys = Object.keys(labels).sort();
  let k = name + '{';
  for (const l of keys) k += `${l}=${labels[l]},`;
  return k + '}';
}

export class StatsStore {
  readonly counters = new Map<string, Counter>();
  readonly gauges = new Map<string, Gauge>();
  readonly histograms = new Map<string, Histogram>();

  counter(name: string, labels?: Labels): Counter {
    const key = keyOf(name, labels);
    let c = this.counters.get(key);
    if (!c) this.counters.set(key, (c = new Counter(name, labels)));
    return c;
  }

  gauge(name: string, labels?: Labels): Gauge {
    const key = keyOf(name, labels);
    let g = this.gauges.get(key);
    if (!g) this.gauges.set(key, (g = new Gauge(name, labels)));
    return g;
  }

  histogram(name: string, labels?: Labels, bounds?: readonly number[]): Histogram {
    const key = keyOf(name, labels);
    let h = this.histograms.get(key);
    if (!h) this.histograms.set(key, (h = new Histogram(name, bounds, labels)));
    return h;
  }

  /** Drop every stat under a prefix, e.g. when a cluster is removed (`cluster.<name>.`). */
  removePrefix(prefix: string): void {
    for (const m of [this.counters, this.gauges, this.histograms] as Map<string, { name: string }>[]) {
      for (const [k, v] of m) if (v.name.startsWith(prefix)) m.delete(k);
    }
  }
}
