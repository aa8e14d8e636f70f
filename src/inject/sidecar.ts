/**
 * Injecting one pod: the containers and volumes of containers.ts, plus the metadata Istio writes —
 * the `sidecar.istio.io/status` annotation (what was added, so nothing injects twice and tools can
 * see it), `security.istio.io/tlsMode: istio` (auto mTLS finds meshed endpoints by it), the canonical
 * service labels, and the default container for kubectl. The input is never modified.
 */
import { SailfinError } from '../common/errors.js';
import { DEFAULT_STATUS_PORT, STATUS_PORT_ANNOTATION, iptablesArgs } from './capture-args.js';
import { initContainer, parseProxyConfigAnnotation, proxyContainer, sidecarVolumes } from './containers.js';
import { INIT_CONTAINER, PROXY_CONTAINER, REVISION_LABEL, STATUS_ANNOTATION, clonePod, type Container, type Pod } from './pod.js';
import { holdsApplication, waitForProxyHook } from './startup-order.js';
import { APP_PROBERS_ENV, probeRewriteEnabled, rewriteAppProbes } from './probe-rewrite.js';
import { PROMETHEUS_ANNOTATIONS_ENV, mergeMetricsAnnotations } from './metrics-merge.js';
import type { InjectValues } from './values.js';
import { canonicalService, workloadName } from './workload-name.js';

function statusPortOf(pod: Pod): number {
  const text = pod.metadata?.annotations?.[STATUS_PORT_ANNOTATION];
  if (text === undefined) return DEFAULT_STATUS_PORT;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n > 65535) {
    throw new SailfinError('schema', `"${text}" is not a port number (0 disables the readiness probe)`, { field: `metadata.annotations["${STATUS_PORT_ANNOTATION}"]` });
  }
  return n;
}

/** The pod with its sidecar. Throws SailfinError naming the annotation when one is unusable. */
export function injectPod(pod: Pod, values: InjectValues, opts: { workloadName?: string } = {}): Pod {
  const out = clonePod(pod);
  const metadata = (out.metadata ??= {});
  const spec = (out.spec ??= {});
  const statusPort = statusPortOf(pod);
  const proxyConfig = parseProxyConfigAnnotation(pod);
  const captureArgs = iptablesArgs(pod.metadata?.annotations, statusPort);
  const workload = opts.workloadName ?? workloadName(pod);

  let apps = spec.containers ?? [];
  const volumes = sidecarVolumes();
  const init = captureArgs ? [initContainer(captureArgs, pod, values)] : [];
  const proxy: Container = proxyContainer(pod, values, { workloadName: workload, statusPort, proxyConfig });
  if (probeRewriteEnabled(pod.metadata?.annotations, values.rewriteAppHTTPProbe ?? true)) {
    const rewrite = rewriteAppProbes(apps);
    apps = rewrite.containers;
    if (Object.keys(rewrite.probers).length > 0) (proxy.env as unknown[]).push({ name: APP_PROBERS_ENV, value: JSON.stringify(rewrite.probers) });
  }
  spec.initContainers = [...init, ...(spec.initContainers ?? [])];
  if (holdsApplication(proxyConfig, values)) {
    // The kubelet starts containers in order and runs a postStart hook to completion before the
    // next one: the app starts only once the proxy can carry its traffic.
    proxy.lifecycle = waitForProxyHook(statusPort);
    spec.containers = [proxy, ...apps];
  } else {
    spec.containers = [...apps, proxy];
  }
  spec.volumes = [...(spec.volumes ?? []), ...volumes];

  const canonical = canonicalService(pod, workload);
  metadata.labels = {
    ...metadata.labels,
    'security.istio.io/tlsMode': 'istio',
    'service.istio.io/canonical-name': canonical.name,
    'service.istio.io/canonical-revision': canonical.revision,
  };
  if (values.revision !== 'default' && metadata.labels[REVISION_LABEL] === undefined) metadata.labels[REVISION_LABEL] = values.revision;
  const annotations: Record<string, string> = { ...metadata.annotations };
  const status = {
    initContainers: init.map((c) => c.name),
    containers: [PROXY_CONTAINER],
    volumes: volumes.map((v) => v.name),
    imagePullSecrets: null,
    revision: values.revision,
  };
  annotations[STATUS_ANNOTATION] = JSON.stringify(status);
  if (apps.length > 0) {
    annotations['kubectl.kubernetes.io/default-container'] ??= apps[0].name;
    annotations['kubectl.kubernetes.io/default-logs-container'] ??= apps[0].name;
  }
  // Istio's merged metrics: Prometheus scrapes the sidecar's 15020, which also serves the app's.
  const merged = mergeMetricsAnnotations(annotations);
  if (merged.appScrape) (proxy.env as unknown[]).push({ name: PROMETHEUS_ANNOTATIONS_ENV, value: merged.appScrape });
  metadata.annotations = merged.annotations;
  return out;
}

export { INIT_CONTAINER, PROXY_CONTAINER };
