/**
 * How the router deals with the cluster for one upstream attempt: choosing the host (steering clear
 * of hosts already tried when the retry policy asks), holding the attempt's place in the circuit
 * breakers and active-request counts, and reporting how it went to the stats and to outlier
 * detection.
 */
import type { Cluster, Host, LbContext, OutlierResult } from '../upstream/api.js';
import type { ActiveStream } from './active-stream.js';
import type { RetryPolicy } from './retry-policy.js';
import type { RouteAction } from './route-action.js';
import { parseHostPort } from './upstream-head.js';

/**
 * What the load balancer may use for this request: the route's hash policy (which may also set a
 * cookie on the response), the client's address, and for ORIGINAL_DST clusters where the client
 * was going (x-envoy-original-dst-host, else the address it connected to).
 */
export function lbContextFor(s: ActiveStream, action: RouteAction, cluster: Cluster): LbContext {
  const lb: LbContext = { downstreamAddress: s.conn.remoteAddress };
  if (action.hash) {
    const r = action.hash({ headers: s.headers, path: s.path, remoteAddress: s.conn.remoteAddress });
    lb.hash = r.hash;
    if (r.setCookie) (s.pendingResponseHeaders ??= []).push('set-cookie', r.setCookie);
  }
  if (cluster.info.type === 'ORIGINAL_DST') {
    const odh = s.headers.get('x-envoy-original-dst-host');
    lb.originalDst = odh ? parseHostPort(odh) : { address: s.conn.localAddress, port: s.conn.localPort };
  }
  return lb;
}

/** A host for the next attempt; with previous_hosts, up to host_selection_retry_max_attempts picks avoid hosts tried before. */
export function chooseHost(cluster: Cluster, lb: LbContext, previous: Host[] | undefined, retry: RetryPolicy | undefined): Host | null {
  if (!previous || previous.length === 0) return cluster.chooseHost(lb);
  lb.previousHosts = previous;
  const tries = Math.max(1, retry?.hostSelectionMaxAttempts ?? 1);
  let h: Host | null = null;
  for (let i = 0; i < tries; i++) {
    h = cluster.chooseHost(lb);
    if (!h || !previous.includes(h)) return h;
  }
  return h;
}

/** The attempt is on its way to `host`. */
export function beginAttempt(cluster: Cluster, host: Host): void {
  cluster.resources.requests.inc();
  host.activeRequests++;
  cluster.stats.upstream_rq_total.inc();
  cluster.stats.upstream_rq_active.inc();
}

/**
 * The attempt is over. `result` undefined: it says nothing about the host (the downstream went
 * away, or a kept-alive connection turned out closed before the request reached the application),
 * so outlier detection hears neither a success nor a failure.
 */
export function endAttemptAccounting(cluster: Cluster, host: Host | null, result: OutlierResult | undefined): void {
  cluster.resources.requests.dec();
  cluster.stats.upstream_rq_active.dec();
  if (host) {
    host.activeRequests--;
    if (result) cluster.reportResult(host, result);
  }
}

/** Counts an upstream response by status class and time to its headers. */
export function recordUpstreamResponse(cluster: Cluster, status: number, elapsedMs: number, attempts: number): void {
  const stats = cluster.stats;
  stats.upstream_rq_time.record(elapsedMs);
  if (status >= 500) stats.upstream_rq_5xx.inc();
  else if (status >= 400) stats.upstream_rq_4xx.inc();
  else if (status >= 300) stats.upstream_rq_3xx.inc();
  else stats.upstream_rq_2xx.inc();
  if (attempts > 1 && status < 500) stats.upstream_rq_retry_success.inc();
}
