/**
 * Who is asking for config. Proxies identify themselves the way Istio's do: the node id
 * `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local` (or `router~…` for gateways) and node metadata
 * (NAMESPACE, NAME, LABELS, INSTANCE_IPS, SERVICE_ACCOUNT), so Envoy started by Istio's agent and
 * grpc-js-xds clients with an Istio-style bootstrap work too.
 */
import { SailfinError } from '../common/errors.js';

export type ProxyType = 'sidecar' | 'router' | 'proxyless';

export interface ProxyInfo {
  id: string;
  type: ProxyType;
  namespace: string;
  /** Pod name, when known. */
  name: string;
  ips: string[];
  labels: Record<string, string>;
  /** Bare service-account name (not the SPIFFE URI). */
  serviceAccount: string;
}

function stringMap(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Parses node.id and node.metadata; a node id that is none of Istio's forms is a proxyless client. */
export function parseProxyInfo(id: string, metadata: Record<string, unknown>): ProxyInfo {
  const parts = id.split('~');
  const meta = (key: string) => (typeof metadata[key] === 'string' ? (metadata[key] as string) : undefined);
  let type: ProxyType = 'proxyless';
  let ips: string[] = [];
  let name = meta('NAME') ?? '';
  let namespace = meta('NAMESPACE') ?? '';
  if (parts.length === 4) {
    if (parts[0] === 'sidecar' || parts[0] === 'router') type = parts[0];
    ips = parts[1] ? [parts[1]] : [];
    const podNs = parts[2];
    const dot = podNs.lastIndexOf('.');
    if (dot > 0) {
      name ||= podNs.slice(0, dot);
      namespace ||= podNs.slice(dot + 1);
    }
  }
  const instanceIps = meta('INSTANCE_IPS');
  if (instanceIps) ips = instanceIps.split(',').map((s) => s.trim()).filter(Boolean);
  if (!namespace) {
    if (type !== 'proxyless') throw new SailfinError('semantic', `node "${id}" has no namespace (node.metadata.NAMESPACE or the id's <pod>.<ns> part)`, { field: 'node.id' });
    namespace = 'default';
  }
  const sa = meta('SERVICE_ACCOUNT') ?? 'default';
  return {
    id,
    type,
    namespace,
    name,
    ips,
    labels: stringMap(metadata.LABELS),
    serviceAccount: sa.includes('/sa/') ? sa.slice(sa.lastIndexOf('/') + 1) : sa,
  };
}

export function sidecarNodeId(ip: string, pod: string, namespace: string, domain = 'cluster.local'): string {
  return `sidecar~${ip}~${pod}.${namespace}~${namespace}.svc.${domain}`;
}

export function routerNodeId(ip: string, pod: string, namespace: string, domain = 'cluster.local'): string {
  return `router~${ip}~${pod}.${namespace}~${namespace}.svc.${domain}`;
}
