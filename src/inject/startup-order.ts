/**
 * Istio's holdApplicationUntilProxyStarts: the proxy container goes first with a postStart hook that
 * returns only when the proxy is ready (`sailfin wait`, as pilot-agent wait), so an app that calls
 * out at start-up does not find its traffic captured by a sidecar that cannot route it yet.
 */
import type { InjectValues } from './values.js';

/** The stats port also answers /healthz/ready, for pods that turn the status port off (annotation 0). */
const STATS_PORT = 15020;

/** The pod's proxy.istio.io/config wins over the mesh's default config. */
export function holdsApplication(proxyConfig: Record<string, unknown>, values: Pick<InjectValues, 'holdApplicationUntilProxyStarts'>): boolean {
  const v = proxyConfig.holdApplicationUntilProxyStarts;
  if (v !== undefined) return isTrue(v);
  return values.holdApplicationUntilProxyStarts === true;
}

/** A ProxyConfig boolean, which YAML or an annotation may give as the string "true" as well. */
export function isTrue(v: unknown): boolean {
  return v === true || String(v).toLowerCase() === 'true';
}

export function waitForProxyHook(statusPort: number): Record<string, unknown> {
  const port = statusPort > 0 ? statusPort : STATS_PORT;
  return { postStart: { exec: { command: ['sailfin', 'wait', '--url', `http://localhost:${port}/healthz/ready`] } } };
}
