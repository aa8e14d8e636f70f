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
  /** Istio's INTERCEPTION_MODE metadata: NONE means no capture (the local mesh's explicit mode). */
  interceptionMode?: string;
  /** Sailfin's APP_PORTS metadata: Service target port → the port the app really listens on. */
  appPorts?: Record<number, number>;
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
    interceptionMode: meta('INTERCEPTION_MODE'),
    appPorts: portMap(metadata.APP_PORTS),
  };
}

/** `{"9080": "31234"}` (metadata values are strings) → {9080: 31234}; anything malformed is ignored. */
function portMap(value: unknown): Record<number, number> | undefined {
  const raw = stringMap(value);
  const out: Record<number, number> = {};
  for (const [k, v] of Object.entries(raw)) {
    const from = Number(k);
    const to = Number(v);
    if (Number.isInteger(from) && Number.isInteger(to) && to > 0 && to < 65536) out[from] = to;
  }
  return Object.keys(out).length ? out : undefined;
}

export function sidecarNodeId(ip: string, pod: string, namespace: string, domain = 'cluster.local'): string {
  return `sidecar~${ip}~${pod}.${namespace}~${namespace}.svc.${domain}`;
}

export function routerNodeId(ip: string, pod: string, namespace: string, domain = 'cluster.local'): string {
  return `router~${ip}~${pod}.${namespace}~${namespace}.svc.${domain}`;
}
