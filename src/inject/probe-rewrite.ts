/**
 * Istio's probe rewriting (`sidecar.istio.io/rewriteAppHTTPProbers`, on unless the pod says "false"):
 * each app container's httpGet, tcpSocket and grpc liveness/readiness/startup probe becomes an
 * httpGet on the sidecar's status port at /app-health/<container>/livez|readyz|startupz, and the
 * original goes to the proxy in ISTIO_KUBE_APP_PROBERS, which performs it over loopback. Without
 * it the kubelet's probes fail on an mTLS-only port (the kubelet has no mesh certificate) and TCP
 * probes always pass (the sidecar accepts every captured port).
 */
import type { Container } from './pod.js';

/** The proxy's env carrying the original probes (read by src/proxy/admin/app-probers.ts). */
export const APP_PROBERS_ENV = 'ISTIO_KUBE_APP_PROBERS';
export const REWRITE_PROBES_ANNOTATION = 'sidecar.istio.io/rewriteAppHTTPProbers';
/** The proxy's status port, where /app-health/ is served (Istio's pilot-agent status port). */
export const APP_HEALTH_PORT = 15020;

const PROBE_KINDS = [
  ['livenessProbe', 'livez'],
  ['readinessProbe', 'readyz'],
  ['startupProbe', 'startupz'],
] as const;

type Probe = Record<string, unknown>;

export interface ProbeRewrite {
  containers: Container[];
  /** Path -> original prober, Istio's ISTIO_KUBE_APP_PROBERS shape; empty when nothing was rewritten. */
  probers: Record<string, Record<string, unknown>>;
}

/** The pod's annotation ("true"/"false") wins over the install's default (Istio's sidecarInjectorWebhook.rewriteAppHTTPProbe). */
export function probeRewriteEnabled(annotations: Record<string, string> | undefined, installDefault = true): boolean {
  const v = annotations?.[REWRITE_PROBES_ANNOTATION]?.trim().toLowerCase();
  if (v === 'false') return false;
  if (v === 'true') return true;
  return installDefault;
}

/**
 * A probe's port as a number: a name is looked up in the container's ports, as the kubelet would.
 * An unknown name leaves the probe as written (it fails at the kubelet, as it would without a mesh).
 */
function resolvePort(port: unknown, c: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  if (typeof port === 'string') return (c.ports ?? []).find((p) => p.name === port)?.containerPort;
  return undefined;
}

function originalProber(probe: Probe, c: Container): Record<string, unknown> | undefined {
  const timeout = probe.timeoutSeconds === undefined ? {} : { timeoutSeconds: probe.timeoutSeconds };
  // exec probes run inside the container and need no help.
  for (const handler of ['httpGet', 'tcpSocket', 'grpc'] as const) {
    const h = probe[handler];
    if (!h || typeof h !== 'object') continue;
    const port = resolvePort((h as { port?: unknown }).port, c);
    return port === undefined ? undefined : { [handler]: { ...h, port }, ...timeout };
  }
  return undefined;
}

/** The app containers with rewritten probes and the originals; the input is not modified. */
export function rewriteAppProbes(apps: readonly Container[], statusPort = APP_HEALTH_PORT): ProbeRewrite {
  const probers: ProbeRewrite['probers'] = {};
  const containers = apps.map((c) => {
    let out: Container | undefined;
    for (const [kind, suffix] of PROBE_KINDS) {
      const probe = c[kind] as Probe | undefined;
      if (!probe || typeof probe !== 'object') continue;
      // Already pointing at the status port (a pod injected before, or written by hand): leave it.
      if ((probe.httpGet as { port?: unknown } | undefined)?.port === statusPort) continue;
      const original = originalProber(probe, c);
      if (!original) continue;
      const path = `/app-health/${c.name}/${suffix}`;
      probers[path] = original;
      const rewritten: Probe = { ...probe, httpGet: { path, port: statusPort, scheme: 'HTTP' } };
      delete rewritten.tcpSocket;
      delete rewritten.grpc;
      out ??= { ...c };
      out[kind] = rewritten;
    }
    return out ?? c;
  });
  return { containers, probers };
}
