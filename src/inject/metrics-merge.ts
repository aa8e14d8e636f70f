/**
 * Istio's metrics merging: Prometheus scrapes every injected pod at the sidecar's 15020
 * /stats/prometheus, so an app that asked to be scraped (`prometheus.io/scrape: "true"` with its own
 * port and path) would lose its metrics. The injector saves the app's scrape annotations in the
 * proxy's ISTIO_PROMETHEUS_ANNOTATIONS and points the annotations at 15020; the proxy fetches the
 * app's metrics and serves them with its own. `prometheus.istio.io/merge-metrics: "false"` opts out.
 */
export const PROMETHEUS_ANNOTATIONS_ENV = 'ISTIO_PROMETHEUS_ANNOTATIONS';
export const MERGE_METRICS_ANNOTATION = 'prometheus.istio.io/merge-metrics';
const SCRAPE = 'prometheus.io/scrape';
const PORT = 'prometheus.io/port';
const PATH = 'prometheus.io/path';

export interface MetricsMerge {
  /** The pod's annotations after merging (a new object). */
  annotations: Record<string, string>;
  /** The app's scrape settings for the proxy's env, when it has any. */
  appScrape?: string;
}

export function mergeMetricsAnnotations(input: Record<string, string>, values: { mergeMetrics?: boolean } = {}): MetricsMerge {
  const annotations = { ...input };
  const scrape = annotations[SCRAPE];
  if (scrape !== undefined && scrape.toLowerCase() === 'false') return { annotations }; // the app opted out of scraping
  if (values.mergeMetrics === false || annotations[MERGE_METRICS_ANNOTATION]?.toLowerCase() === 'false') {
    if (scrape === undefined) Object.assign(annotations, { [SCRAPE]: 'true', [PORT]: '15020', [PATH]: '/stats/prometheus' });
    return { annotations };
  }
  // Scraped without a port, Prometheus would try every container port: nothing the proxy can copy.
  if (scrape !== undefined && annotations[PORT] === undefined) return { annotations };
  const appScrape = scrape !== undefined ? JSON.stringify({ scrape, port: annotations[PORT], path: annotations[PATH] ?? '/metrics' }) : undefined;
  Object.assign(annotations, { [SCRAPE]: 'true', [PORT]: '15020', [PATH]: '/stats/prometheus' });
  return { annotations, appScrape };
}
