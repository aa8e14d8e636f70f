/**
 * The bootstrap of an injected sidecar, built from what Kubernetes tells the pod about itself (the
 * env the injector sets from the downward API, and the labels file it mounts), as istio-agent
 * builds Envoy's: node id and metadata (NAMESPACE, NAME, LABELS, INSTANCE_IPS, SERVICE_ACCOUNT, every
 * ISTIO_META_* variable) and ADS at the control plane. `sailfin proxy` without --config uses it.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { SailfinError } from '../common/errors.js';
import { XDS_CLUSTER, proxyBootstrap } from '../mesh/bootstrap.js';

export const DEFAULT_LABELS_FILE = '/etc/istio/pod/labels';

export interface PodBootstrapOptions {
  type: 'sidecar' | 'router';
  /** host:port of the control plane's xDS port. */
  discoveryAddress: string;
  labelsFile?: string;
  clusterDomain?: string;
}

/** The downward API's labels file: one `key="value"` per line, values quoted as Go's %q does. */
export function parseDownwardApiLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    const raw = line.slice(eq + 1).trim();
    try {
      labels[key] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    } catch {
      labels[key] = raw.replace(/^"|"$/g, '');
    }
  }
  return labels;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new SailfinError('schema', `${name} is not set: without --config the proxy builds its bootstrap from the pod's env (set by sidecar injection from the downward API)`, { field: name });
  return v;
}

export function podBootstrapFromEnv(env: NodeJS.ProcessEnv, opts: PodBootstrapOptions): Record<string, unknown> {
  const podName = required(env, 'POD_NAME');
  const namespace = required(env, 'POD_NAMESPACE');
  const ip = required(env, 'INSTANCE_IP');
  const m = /^(.+):(\d+)$/.exec(opts.discoveryAddress);
  if (!m || Number(m[2]) > 65535) throw new SailfinError('schema', `"${opts.discoveryAddress}" is not host:port`, { field: '--discovery-address' });
  const host = m[1].replace(/^\[(.*)\]$/, '$1');
  let labels: Record<string, string> = {};
  try {
    labels = parseDownwardApiLabels(readFileSync(opts.labelsFile ?? DEFAULT_LABELS_FILE, 'utf8'));
  } catch {
    // Outside a pod (or before the kubelet wrote it) there are no labels: the proxy still works,
    // only label-selected config (subsets, policies) will not match it.
  }
  const bootstrap = proxyBootstrap({
    mode: opts.type,
    podName,
    namespace,
    ip,
    labels,
    serviceAccount: env.SERVICE_ACCOUNT || 'default',
    controlPlane: { address: host, port: Number(m[2]) },
    workloadName: env.ISTIO_META_WORKLOAD_NAME,
    domain: opts.clusterDomain,
  }) as { node: { metadata: Record<string, unknown> }; static_resources: { clusters: Record<string, unknown>[] } };
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('ISTIO_META_') && value !== undefined) bootstrap.node.metadata[name.slice('ISTIO_META_'.length)] = value;
  }
  // In a cluster the control plane is a Service name, resolved by DNS (and re-resolved when it moves).
  if (!isIP(host)) {
    const xds = bootstrap.static_resources.clusters.find((c) => c.name === XDS_CLUSTER);
    if (xds) Object.assign(xds, { type: 'STRICT_DNS', dns_lookup_family: 'V4_ONLY' });
  }
  return bootstrap;
}
