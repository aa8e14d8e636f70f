/**
 * The Istio networking config in force, indexed the way the generators look it up: VirtualServices by
 * host for a given gateway set, DestinationRules by host with Istio's namespace lookup order, Gateways by
 * the pods they select, Sidecar resources by workload.
 */
import type { LoadedResource, Resource } from '../config/resource.js';
import { hostMatches, hostSubsetOf, resolveShortnameToFqdn } from '../registry/hostname.js';
import { qualifyGateway } from './routes/match.js';
import type { TrafficPolicy } from './clusters/traffic-policy.js';
import type { HttpRoute } from './routes/http-route.js';

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HttpRoute[];
  tcp?: Array<{ match?: Array<Record<string, unknown>>; route?: Array<{ destination: { host: string; subset?: string; port?: { number?: number } }; weight?: number }> }>;
  tls?: Array<{ match?: Array<{ sniHosts?: string[]; port?: number; gateways?: string[]; sourceLabels?: Record<string, string> }>; route?: Array<{ destination: { host: string; subset?: string; port?: { number?: number } }; weight?: number }> }>;
  exportTo?: string[];
}

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Array<{ name: string; labels?: Record<string, string>; trafficPolicy?: TrafficPolicy }>;
  exportTo?: string[];
  workloadSelector?: { matchLabels?: Record<string, string> };
}

export interface GatewaySpec {
  selector?: Record<string, string>;
  servers?: Array<{
    port: { number: number; protocol: string; name?: string; targetPort?: number };
    hosts: string[];
    tls?: { mode?: string; credentialName?: string; httpsRedirect?: boolean; serverCertificate?: string; privateKey?: string; caCertificates?: string; subjectAltNames?: string[]; minProtocolVersion?: string };
    name?: string;
    bind?: string;
  }>;
}

export interface SidecarSpec {
  workloadSelector?: { labels?: Record<string, string> };
  egress?: Array<{ hosts: string[]; port?: { number: number } }>;
  outboundTrafficPolicy?: { mode?: 'ALLOW_ANY' | 'REGISTRY_ONLY' };
}

export interface IndexedVirtualService {
  name: string;
  namespace: string;
  /** FQDN-resolved hosts. */
  hosts: string[];
  /** `ns/name` gateways (or `mesh`). */
  gateways: Set<string>;
  spec: VirtualServiceSpec;
  resource: LoadedResource;
}

function meta(r: Resource): { name: string; namespace: string } {
  return { name: r.metadata.name, namespace: r.metadata.namespace ?? 'default' };
}

function visible(exportTo: string[] | undefined, ownNamespace: string, from: string): boolean {
  if (!exportTo || exportTo.length === 0 || exportTo.includes('*')) return true;
  return exportTo.some((e) => (e === '.' ? ownNamespace === from : e === from));
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export class IstioConfig {
  readonly virtualServices: IndexedVirtualService[] = [];
  readonly destinationRules: Array<{ name: string; namespace: string; host: string; spec: DestinationRuleSpec; resource: LoadedResource }> = [];
  readonly gateways: Array<{ name: string; namespace: string; spec: GatewaySpec; resource: LoadedResource }> = [];
  readonly sidecars: Array<{ name: string; namespace: string; spec: SidecarSpec }> = [];
  readonly peerAuthentications: LoadedResource[] = [];
  readonly authorizationPolicies: LoadedResource[] = [];
  readonly requestAuthentications: LoadedResource[] = [];

  constructor(
    resources: Iterable<LoadedResource>,
    readonly domain = 'cluster.local',
    readonly rootNamespace = 'istio-system',
  ) {
    for (const lr of resources) {
      const r = lr.resource;
      const { name, namespace } = meta(r);
      const spec = (r.spec ?? {}) as Record<string, unknown>;
      switch (r.kind) {
        case 'VirtualService': {
          const s = spec as VirtualServiceSpec;
          const gws = s.gateways?.length ? s.gateways : ['mesh'];
          this.virtualServices.push({
            name,
            namespace,
            hosts: (s.hosts ?? []).map((h) => resolveShortnameToFqdn(h, namespace, domain)),
            gateways: new Set(gws.map((g) => qualifyGateway(g, namespace))),
            spec: s,
            resource: lr,
          });
          break;
        }
        case 'DestinationRule': {
          const s = spec as unknown as DestinationRuleSpec;
          this.destinationRules.push({ name, namespace, host: resolveShortnameToFqdn(s.host, namespace, domain), spec: s, resource: lr });
          break;
        }
        case 'Gateway':
          this.gateways.push({ name, namespace, spec: spec as GatewaySpec, resource: lr });
          break;
        case 'Sidecar':
          this.sidecars.push({ name, namespace, spec: spec as SidecarSpec });
          break;
        case 'PeerAuthentication':
          this.peerAuthentications.push(lr);
          break;
        case 'AuthorizationPolicy':
          this.authorizationPolicies.push(lr);
          break;
        case 'RequestAuthentication':
          this.requestAuthentications.push(lr);
          break;
      }
    }
    // Istio orders by creation time; files have none, so the order of the load stands for it.
  }

  /**
   * VirtualServices that apply to a proxy bound to `gateways` (`mesh` for sidecars), visible from
   * `namespace`. Rules bound to named gateways skip sidecars unless they also list `mesh`.
   */
  virtualServicesFor(gateways: ReadonlySet<string>, namespace: string): IndexedVirtualService[] {
    return this.virtualServices.filter(
      (vs) => [...vs.gateways].some((g) => gateways.has(g)) && (gateways.has('mesh') ? visible(vs.spec.exportTo, vs.namespace, namespace) : true),
    );
  }

  /** The first VirtualService (in order) with a host covering `hostname`, Istio's conflict rule. */
  virtualServiceForHost(list: readonly IndexedVirtualService[], hostname: string): IndexedVirtualService | undefined {
    return list.find((vs) => vs.hosts.some((h) => h === hostname)) ?? list.find((vs) => vs.hosts.some((h) => hostSubsetOf(hostname, h)));
  }

  /**
   * The DestinationRule for `hostname` seen from `proxyNamespace`: the proxy's namespace first, then the
   * service's, then the root namespace (Istio's lookup order); an exact host beats a wildcard.
   */
  destinationRule(hostname: string, proxyNamespace: string, serviceNamespace: string, proxyLabels: Record<string, string> = {}): DestinationRuleSpec | undefined {
    const candidates = this.destinationRules.filter(
      (dr) => hostMatches(hostname, dr.host) && visible(dr.spec.exportTo, dr.namespace, proxyNamespace) && selects(dr.spec.workloadSelector?.matchLabels, proxyLabels),
    );
    for (const ns of [proxyNamespace, serviceNamespace, this.rootNamespace]) {
      const inNs = candidates.filter((dr) => dr.namespace === ns);
      const exact = inNs.find((dr) => dr.host === hostname) ?? inNs[0];
      if (exact) return mergeSameHost(exact, inNs);
    }
    return undefined;
  }

  /** Gateways whose selector matches a router proxy's labels, as `ns/name`. */
  gatewaysFor(labels: Record<string, string>, namespace: string): Array<{ key: string; spec: GatewaySpec; namespace: string; name: string }> {
    // Istio's default (PILOT_SCOPE_GATEWAY_TO_NAMESPACE off) lets a Gateway in any namespace select any gateway pod.
    void namespace;
    return this.gateways
      .filter((g) => g.spec.selector && Object.keys(g.spec.selector).length > 0 && selects(g.spec.selector, labels))
      .map((g) => ({ key: `${g.namespace}/${g.name}`, spec: g.spec, namespace: g.namespace, name: g.name }));
  }

  /** The Sidecar resource for a workload: one selecting it in its namespace, else the namespace default, else the root default. */
  sidecarFor(namespace: string, labels: Record<string, string>): SidecarSpec | undefined {
    const inNs = this.sidecars.filter((s) => s.namespace === namespace);
    return (
      inNs.find((s) => s.spec.workloadSelector?.labels && selects(s.spec.workloadSelector.labels, labels))?.spec ??
      inNs.find((s) => !s.spec.workloadSelector)?.spec ??
      this.sidecars.find((s) => s.namespace === this.rootNamespace && !s.spec.workloadSelector)?.spec
    );
  }
}

/**
 * Istio merges DestinationRules of one namespace for the same host when none selects workloads: the first
 * one's traffic policy (or the next that has one), and every subset whose name is not taken yet. The
 * egress tasks rely on it: each adds its own rule for the egress gateway's host with its own subset.
 */
function mergeSameHost(
  first: { host: string; spec: DestinationRuleSpec },
  inNs: ReadonlyArray<{ host: string; spec: DestinationRuleSpec }>,
): DestinationRuleSpec {
  const same = inNs.filter((dr) => dr !== first && dr.host === first.host && !dr.spec.workloadSelector);
  if (same.length === 0 || first.spec.workloadSelector) return first.spec;
  const merged: DestinationRuleSpec = { ...first.spec, subsets: [...(first.spec.subsets ?? [])] };
  for (const dr of same) {
    if (!merged.trafficPolicy && dr.spec.trafficPolicy) merged.trafficPolicy = dr.spec.trafficPolicy;
    for (const sub of dr.spec.subsets ?? []) if (!merged.subsets!.some((x) => x.name === sub.name)) merged.subsets!.push(sub);
  }
  return merged;
}
