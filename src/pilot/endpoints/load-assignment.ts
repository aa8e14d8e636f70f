/**
 * EDS: the ClusterLoadAssignment of one `outbound|port|subset|host` cluster: the service's endpoints
 * that carry the subset's labels, grouped by locality, with the metadata auto mTLS matches on and, when
 * locality load balancing is in force, priorities by distance from the proxy (Istio's failover order:
 * same region/zone/sub-zone, same zone, same region, the failover region, the rest).
 */
import type { JsonObject } from '../../proxy/config/fields.js';
import type { LocalityLbSetting } from '../clusters/traffic-policy.js';
import type { Locality, MeshEndpoint } from '../model.js';
import { canonicalService } from '../../inject/workload-name.js';

export interface LocalityContext {
  proxyLocality?: Locality;
  setting?: LocalityLbSetting;
  /** Locality failover only makes sense with outlier detection to notice failures (Istio's rule). */
  outlierDetection: boolean;
}

const key = (l: Locality) => `${l.region}/${l.zone}/${l.subZone}`;

function matchesLabels(labels: Readonly<Record<string, string>>, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function priority(ep: Locality, proxy: Locality, setting: LocalityLbSetting | undefined): number {
  if (ep.region === proxy.region && ep.zone === proxy.zone && ep.subZone === proxy.subZone) return 0;
  if (ep.region === proxy.region && ep.zone === proxy.zone) return 1;
  if (ep.region === proxy.region) return 2;
  const failover = setting?.failover?.find((f) => f.from === proxy.region);
  if (failover && failover.to === ep.region) return 3;
  return failover ? 4 : 3;
}

/** `region1/zone1/*` style patterns of `distribute`. */
function localityMatches(pattern: string, l: Locality): boolean {
  const [r, z, s] = pattern.split('/');
  return (r === '*' || r === l.region) && (z === undefined || z === '*' || z === l.zone) && (s === undefined || s === '*' || s === l.subZone);
}

/** The proxy's locality from its node labels (what Istio reads from the pod's node). */
export function proxyLocalityOf(labels: Readonly<Record<string, string>>): Locality | undefined {
  const region = labels['topology.kubernetes.io/region'] ?? '';
  const zone = labels['topology.kubernetes.io/zone'] ?? '';
  const subZone = labels['topology.istio.io/subzone'] ?? '';
  return region || zone ? { region, zone, subZone } : undefined;
}

/**
 * The `distribute` entry that applies to a proxy at `proxyLoc`, if locality load balancing is on. The
 * cluster and its load assignment must agree on it: the weights are only honoured when the cluster
 * says locality_weighted_lb_config.
 */
export function matchingDistribute(setting: LocalityLbSetting | undefined, proxyLoc: Locality | undefined): { from: string; to: Record<string, number> } | undefined {
  const enabled = setting?.enabled !== false && !!proxyLoc && !!(proxyLoc.region || proxyLoc.zone);
  return enabled ? setting?.distribute?.find((d) => localityMatches(d.from, proxyLoc!)) : undefined;
}

export function buildLoadAssignment(cluster: string, endpoints: readonly MeshEndpoint[], subset: Record<string, string> | undefined, loc: LocalityContext): JsonObject {
  const selected = endpoints.filter((e) => matchesLabels(e.labels, subset));
  const groups = new Map<string, { locality: Locality; eps: MeshEndpoint[] }>();
  for (const ep of selected) {
    const k = key(ep.locality);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { locality: ep.locality, eps: [] }));
    g.eps.push(ep);
  }
  const proxyLoc = loc.proxyLocality;
  const enabled = loc.setting?.enabled !== false && !!proxyLoc && (proxyLoc.region || proxyLoc.zone);
  const distribute = matchingDistribute(loc.setting, proxyLoc);
  const out: JsonObject[] = [];
  for (const { locality, eps } of groups.values()) {
    const entry: JsonObject = {
      locality: { region: locality.region, zone: locality.zone, sub_zone: locality.subZone },
      lb_endpoints: eps.map((ep) => {
        const lb: JsonObject = {
          endpoint: { address: { socket_address: { address: ep.address, port_value: ep.port } }, ...(ep.hostname ? { hostname: ep.hostname } : {}) },
          health_status: ep.ready ? 'HEALTHY' : 'UNHEALTHY',
          load_balancing_weight: ep.weight || 1,
          metadata: {
            filter_metadata: {
              'envoy.transport_socket_match': { tlsMode: ep.tlsMode },
              istio: { workload: istioWorkload(ep) },
            },
          },
        };
        return lb;
      }),
    };
    if (distribute) {
      // Weighted distribution: each locality gets its share, split evenly between matching localities.
      let weight = 0;
      for (const [pattern, w] of Object.entries(distribute.to)) if (localityMatches(pattern, locality)) weight += w;
      if (weight === 0) continue;
      entry.load_balancing_weight = weight;
    } else if (enabled && loc.outlierDetection) {
      entry.priority = priority(locality, proxyLoc!, loc.setting);
    }
    out.push(entry);
  }
  // Envoy wants priorities numbered 0..N without gaps.
  const levels = [...new Set(out.map((e) => e.priority as number | undefined).filter((p): p is number => p !== undefined))].sort((a, b) => a - b);
  for (const e of out) if (e.priority !== undefined) e.priority = levels.indexOf(e.priority as number);
  return { cluster_name: cluster, endpoints: out };
}

/**
 * Istio's endpoint telemetry metadata, "workload;namespace;canonical-service;canonical-revision;cluster":
 * a source sidecar names the destination with it when no metadata exchange happened (TCP, no sidecar).
 * The workload is the controller's name (Deployment/StatefulSet), as Istio reports workloads.
 */
export function istioWorkload(ep: MeshEndpoint): string {
  if (!ep.workload) return '';
  const l = ep.labels;
  let workload = ep.workload.name;
  if (l['pod-template-hash']) workload = workload.replace(/-[a-z0-9]+-[a-z0-9]{5}$/, '');
  else if (l['statefulset.kubernetes.io/pod-name']) workload = workload.replace(/-\d+$/, '');
  // The injector's rule, so this names the service as the pod's own bootstrap does in the metadata exchange.
  const canonical = canonicalService({ metadata: { labels: { ...l } } }, workload);
  return `${workload};${ep.workload.namespace};${canonical.name};${canonical.revision};Kubernetes`;
}
