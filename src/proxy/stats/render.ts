/**
 * Rendering the stats store the way Envoy's admin does: `/stats` as `name: value` lines (histograms
 * as quantile summaries) and `/stats/prometheus` with Envoy's naming — dots become underscores,
 * `envoy_` prefix, and the cluster/listener names pulled out into labels
 * (`envoy_cluster_upstream_rq_total{envoy_cluster_name="x"}`). Istio's own metrics (istio_*) keep
 * their names and labels.
 */
import type { Counter, Gauge, Histogram, Labels, StatsStore } from './store.js';

function labelText(labels: Labels | undefined): string {
  if (!labels) return '';
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export function renderText(store: StatsStore, filter?: RegExp): string {
  const lines: string[] = [];
  const add = (name: string, labels: Labels | undefined, value: string): void => {
    const full = labels ? `${name}{${labelText(labels)}}` : name;
    if (!filter || filter.test(full)) lines.push(`${full}: ${value}`);
  };
  for (const c of store.counters.values()) add(c.name, c.labels, String(c.value));
  for (const g of store.gauges.values()) add(g.name, g.labels, String(g.value));
  for (const h of store.histograms.values()) {
    const q = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1].map((x) => `P${x * 100}(${h.count ? h.quantile(x).toFixed(1) : 'nan'})`);
    add(h.name, h.labels, h.count ? q.join(' ') : 'No recorded values');
  }
  return lines.sort().join('\n') + '\n';
}

/** Envoy's tag extraction for the stat families it labels (cluster, listener, http, tcp). */
const TAG_RULES: Array<{ prefix: string; tag: string; family: string }> = [
  { prefix: 'cluster.', tag: 'envoy_cluster_name', family: 'cluster' },
  { prefix: 'listener.', tag: 'envoy_listener_address', family: 'listener' },
  { prefix: 'http.', tag: 'envoy_http_conn_manager_prefix', family: 'http' },
  { prefix: 'tcp.', tag: 'envoy_tcp_prefix', family: 'tcp' },
];

interface PromName {
  name: string;
  labels: Record<string, string>;
}

/** `cluster.outbound|80||x.svc.upstream_rq_total` → envoy_cluster_upstream_rq_total{envoy_cluster_name="outbound|80||x.svc"}. */
export function promName(stat: string, labels: Labels | undefined, knownClusters?: ReadonlySet<string>): PromName {
  if (stat.startsWith('istio_') || labels) return { name: sanitize(stat), labels: { ...(labels ?? {}) } };
  for (const rule of TAG_RULES) {
    if (!stat.startsWith(rule.prefix)) continue;
    const rest = stat.slice(rule.prefix.length);
    let tagValue: string | undefined;
    let suffix: string | undefined;
    if (rule.family === 'cluster' && knownClusters) {
      // Cluster names contain dots, so match the longest known name rather than splitting.
      for (const c of knownClusters) if (rest.startsWith(c + '.') && (!tagValue || c.length > tagValue.length)) tagValue = c;
      if (tagValue) suffix = rest.slice(tagValue.length + 1);
    }
    if (tagValue === undefined) {
      const i = rest.lastIndexOf('.');
      if (i < 0) break;
      tagValue = rest.slice(0, i);
      suffix = rest.slice(i + 1);
    }
    return { name: sanitize(`envoy_${rule.family}_${suffix}`), labels: { [rule.tag]: tagValue } };
  }
  return { name: sanitize(`envoy_${stat}`), labels: {} };
}

function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function fmtLabels(labels: Record<string, string>, extra?: [string, string]): string {
  const entries = Object.entries(labels);
  if (extra) entries.push(extra);
  if (entries.length === 0) return '';
  return '{' + entries.map(([k, v]) => `${sanitize(k)}="${escapeLabel(v)}"`).join(',') + '}';
}

export function renderPrometheus(store: StatsStore, knownClusters?: ReadonlySet<string>): string {
  type Family = { type: 'counter' | 'gauge' | 'histogram'; lines: string[] };
  const families = new Map<string, Family>();
  const family = (name: string, type: Family['type']): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { type, lines: [] }));
    return f;
  };
  const simple = (s: Counter | Gauge, type: 'counter' | 'gauge'): void => {
    const p = promName(s.name, s.labels, knownClusters);
    family(p.name, type).lines.push(`${p.name}${fmtLabels(p.labels)} ${s.value}`);
  };
  for (const c of store.counters.values()) simple(c, 'counter');
  for (const g of store.gauges.values()) simple(g, 'gauge');
  for (const h of store.histograms.values()) {
    const p = promName(h.name, h.labels, knownClusters);
    renderHistogram(h, p, family(p.name, 'histogram'));
  }
  let out = '';
  for (const name of [...families.keys()].sort()) {
    const f = families.get(name)!;
    out += `# TYPE ${name} ${f.type}\n${f.lines.join('\n')}\n`;
  }
  return out;
}

function renderHistogram(h: Histogram, p: PromName, f: { lines: string[] }): void {
  let cumulative = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.counts[i];
    f.lines.push(`${p.name}_bucket${fmtLabels(p.labels, ['le', String(h.bounds[i])])} ${cumulative}`);
  }
  f.lines.push(`${p.name}_bucket${fmtLabels(p.labels, ['le', '+Inf'])} ${h.count}`);
  f.lines.push(`${p.name}_sum${fmtLabels(p.labels)} ${h.sum}`);
  f.lines.push(`${p.name}_count${fmtLabels(p.labels)} ${h.count}`);
}
