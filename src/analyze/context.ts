/**
 * What the analyzers look things up in: the loaded objects indexed the way Istio resolves references
 * (services by FQDN, gateways by namespace/name, DestinationRules by host), built once per run so each
 * analyzer stays a short list of checks instead of its own scan.
 */
import { isPlainObject } from '../config/documents.js';
import { meshConfigFrom, type MeshConfig } from '../config/mesh-config.js';
import type { LoadedResource } from '../config/resource.js';
import { hostMatches, isWildcard, resolveShortnameToFqdn, serviceFqdn } from '../registry/hostname.js';

export const DEFAULT_DOMAIN = 'cluster.local';

export interface ServiceInfo {
  readonly loaded: LoadedResource;
  readonly fqdn: string;
  readonly namespace: string;
  /** Pod labels the Service selects; undefined for a Service without a selector. */
  readonly selector?: Record<string, string>;
  readonly ports: ReadonlyArray<{ readonly port: number; readonly name?: string }>;
}

export interface ServiceEntryHost {
  readonly loaded: LoadedResource;
  /** As written, or expanded against the ServiceEntry's namespace when short. */
  readonly host: string;
  readonly ports: readonly number[];
}

export interface PodInfo {
  readonly loaded: LoadedResource;
  readonly namespace: string;
  readonly labels: Record<string, string>;
}

export class AnalysisContext {
  readonly domain: string;
  readonly mesh: MeshConfig;
  readonly services = new Map<string, ServiceInfo>();
  readonly serviceEntryHosts: ServiceEntryHost[] = [];
  /** `namespace/name` → Gateway. */
  readonly gateways = new Map<string, LoadedResource>();
  readonly virtualServices: LoadedResource[] = [];
  readonly destinationRules: LoadedResource[] = [];
  /** AuthorizationPolicy, PeerAuthentication, RequestAuthentication and Sidecar objects. */
  readonly policies: LoadedResource[] = [];
  readonly pods: PodInfo[] = [];
  /** Secrets, for Gateway `credentialName` checks. */
  readonly secrets: LoadedResource[] = [];
  /** Indexes so lookups stay cheap on large configs (analysis must stay roughly linear in input size). */
  private readonly podsByLabel = new Map<string, PodInfo[]>();
  private readonly exactServiceEntryHosts = new Map<string, ServiceEntryHost[]>();
  private readonly wildcardServiceEntryHosts: ServiceEntryHost[] = [];
  private readonly rulesByHost = new Map<string, LoadedResource[]>();
  private readonly wildcardRules: Array<{ host: string; rule: LoadedResource }> = [];

  constructor(resources: readonly LoadedResource[], pods: readonly LoadedResource[], domain = DEFAULT_DOMAIN) {
    this.domain = domain;
    this.mesh = meshConfigFrom(resources).config;
    for (const loaded of resources) this.index(loaded);
    for (const pod of pods) {
      const meta = pod.resource.metadata;
      const info: PodInfo = { loaded: pod, namespace: meta.namespace ?? 'default', labels: meta.labels ?? {} };
      this.pods.push(info);
      for (const [k, v] of Object.entries(info.labels)) push(this.podsByLabel, `${k}=${v}`, info);
    }
    for (const se of this.serviceEntryHosts) {
      if (isWildcard(se.host)) this.wildcardServiceEntryHosts.push(se);
      else push(this.exactServiceEntryHosts, se.host, se);
    }
    for (const rule of this.destinationRules) {
      const host = (rule.resource.spec as Record<string, unknown> | undefined)?.host;
      if (typeof host !== 'string' || host === '') continue;
      const fqdn = this.fqdn(host, rule.resource.metadata.namespace ?? 'default');
      if (isWildcard(fqdn)) this.wildcardRules.push({ host: fqdn, rule });
      else push(this.rulesByHost, fqdn, rule);
    }
  }

  private index(loaded: LoadedResource): void {
    const r = loaded.resource;
    const ns = r.metadata.namespace ?? 'default';
    const spec = isPlainObject(r.spec) ? r.spec : {};
    switch (r.kind) {
      case 'Service': {
        const fqdn = serviceFqdn(r.metadata.name, ns, this.domain);
        const ports = (Array.isArray(spec.ports) ? spec.ports : []).filter(isPlainObject).map((p) => ({
          port: Number(p.port),
          name: typeof p.name === 'string' ? p.name : undefined,
        }));
        const selector = isPlainObject(spec.selector) ? stringRecord(spec.selector) : undefined;
        this.services.set(fqdn, { loaded, fqdn, namespace: ns, selector, ports });
        break;
      }
      case 'ServiceEntry': {
        const ports = (Array.isArray(spec.ports) ? spec.ports : []).filter(isPlainObject).map((p) => Number(p.number));
        for (const host of Array.isArray(spec.hosts) ? spec.hosts : []) {
          if (typeof host === 'string') this.serviceEntryHosts.push({ loaded, host: resolveShortnameToFqdn(host, ns, this.domain), ports });
        }
        break;
      }
      case 'Gateway':
        this.gateways.set(`${ns}/${r.metadata.name}`, loaded);
        break;
      case 'VirtualService':
        this.virtualServices.push(loaded);
        break;
      case 'DestinationRule':
        this.destinationRules.push(loaded);
        break;
      case 'Secret':
        this.secrets.push(loaded);
        break;
      case 'AuthorizationPolicy':
      case 'PeerAuthentication':
      case 'RequestAuthentication':
      case 'Sidecar':
        this.policies.push(loaded);
        break;
    }
  }

  /** A host as Istio reads it in config from `namespace` (short names are relative to the config's namespace). */
  fqdn(host: string, namespace: string): string {
    return resolveShortnameToFqdn(host, namespace, this.domain);
  }

  /** Whether anything in the registry (a Service, a ServiceEntry host) answers to `fqdn`. */
  hostExists(fqdn: string): boolean {
    if (this.services.has(fqdn) || this.exactServiceEntryHosts.has(fqdn)) return true;
    if (isWildcard(fqdn)) return this.serviceEntryHosts.some((se) => hostMatches(se.host, fqdn));
    return this.wildcardServiceEntryHosts.some((se) => hostMatches(se.host, fqdn));
  }

  /** Ports of the host, from the Service or the ServiceEntries that define it. */
  portsOf(fqdn: string): number[] {
    const svc = this.services.get(fqdn);
    if (svc) return svc.ports.map((p) => p.port);
    const out = new Set<number>();
    for (const se of this.exactServiceEntryHosts.get(fqdn) ?? []) for (const p of se.ports) out.add(p);
    return [...out];
  }

  /**
   * The DestinationRules that apply to `fqdn` for a client in `clientNamespace`: Istio looks in the
   * client's namespace, then the service's, then the root namespace.
   */
  destinationRulesFor(fqdn: string, clientNamespace: string): LoadedResource[] {
    const serviceNamespace = this.services.get(fqdn)?.namespace;
    const allowed = new Set([clientNamespace, serviceNamespace, this.mesh.rootNamespace]);
    const candidates = [...(this.rulesByHost.get(fqdn) ?? []), ...this.wildcardRules.filter((w) => hostMatches(w.host, fqdn)).map((w) => w.rule)];
    return candidates.filter((dr) => allowed.has(dr.resource.metadata.namespace ?? 'default'));
  }

  /** Pods in `namespace` (any namespace when undefined) whose labels include all of `selector`. */
  podsMatching(selector: Record<string, string>, namespace?: string): PodInfo[] {
    const entries = Object.entries(selector);
    // Start from the pods carrying the rarest of the wanted labels instead of scanning every pod.
    let pool: readonly PodInfo[] = this.pods;
    for (const [k, v] of entries) {
      const withLabel = this.podsByLabel.get(`${k}=${v}`) ?? [];
      if (withLabel.length < pool.length) pool = withLabel;
    }
    return pool.filter((p) => (namespace === undefined || p.namespace === namespace) && entries.every(([k, v]) => p.labels[k] === v));
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** `app=reviews,version=v1`, sorted, as istioctl prints selectors. */
export function formatSelector(selector: Record<string, string>): string {
  return Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k]}`)
    .join(',');
}
