/**
 * The service registry the control plane and the local mesh use: `apply` config batches (registry-core.ts),
 * then ask it for services, endpoints and pods, and resolve the hosts written in routing config.
 * Its shape satisfies the pilot's `ServiceView` (src/pilot/model.ts), so generators can read it directly.
 */
import type { ConfigEvent } from '../config/events.js';
import type { LoadedResource } from '../config/resource.js';
import { isVisible } from './export-to.js';
import { resolveHost, type HostResolution } from './host-resolver.js';
import { matchesSelector, type Labels } from './labels.js';
import type { RegistryEndpoint, RegistryPod, RegistryService, RegistryServicePort } from './model.js';
import type { RegistryOptions } from './options.js';
import { RegistryCore } from './registry-core.js';
import { recordKey, type ServiceRecord } from './service-records.js';

/** A service port a workload serves: what its inbound listener is built from. */
export interface ServiceInstance {
  readonly service: RegistryService;
  readonly servicePort: RegistryServicePort;
  /** The port the workload listens on for `servicePort`. */
  readonly targetPort: number;
  readonly endpoint: RegistryEndpoint;
}

export class ServiceRegistry extends RegistryCore {
  /** Every service, ordered by hostname then namespace. */
  services(): readonly RegistryService[] {
    this.servicesCache ??= [...this.records.values()]
      .map((r) => r.service)
      .sort((a, b) => compare(a.hostname, b.hostname) || compare(a.namespace, b.namespace));
    return this.servicesCache;
  }

  /**
   * The service answering to `hostname` (an FQDN or ServiceEntry host). With `fromNamespace`, only
   * services exported there count, and one in that namespace is preferred; otherwise a Kubernetes
   * service is preferred over a ServiceEntry, then the oldest definition.
   */
  service(hostname: string, fromNamespace?: string): RegistryService | undefined {
    return this.pick(hostname, fromNamespace)?.service;
  }

  /** Every definition of `hostname` (several namespaces may declare the same ServiceEntry host). */
  servicesNamed(hostname: string): readonly RegistryService[] {
    return this.records.named(hostname).map((r) => r.service);
  }

  /**
   * Endpoints of `hostname` on service port `port`, optionally only those carrying all `subsetLabels`
   * (a DestinationRule subset). Not-ready endpoints are included with `ready: false`.
   */
  endpoints(hostname: string, port: number, subsetLabels?: Labels, fromNamespace?: string): readonly RegistryEndpoint[] {
    const list = this.pick(hostname, fromNamespace)?.endpoints.get(port) ?? [];
    if (!subsetLabels || Object.keys(subsetLabels).length === 0) return list;
    return list.filter((e) => matchesSelector(e.labels, subsetLabels));
  }

  /**
   * Identities the service's workloads run as, plus any declared on it, sorted. A ServiceEntry naming the
   * same host as a Kubernetes service decorates it (Istio's rule): its `subjectAltNames` are added.
   */
  serviceAccounts(hostname: string, fromNamespace?: string): readonly string[] {
    const rec = this.pick(hostname, fromNamespace);
    if (!rec) return [];
    const out = new Set(rec.service.serviceAccounts);
    if (rec.service.source === 'kubernetes') {
      for (const other of this.records.named(hostname)) if (other.service.source === 'serviceentry') for (const sa of other.service.serviceAccounts) out.add(sa);
    }
    for (const list of rec.endpoints.values()) for (const e of list) if (e.serviceAccount) out.add(e.serviceAccount);
    return [...out].sort();
  }

  podsMatching(namespace: string, selector: Labels): readonly RegistryPod[] {
    return this.pods.select(namespace, selector);
  }

  podByIp(ip: string): RegistryPod | undefined {
    const key = this.podsByIp.get(ip);
    return key === undefined ? undefined : this.pods.get(key);
  }

  podByName(namespace: string, name: string): RegistryPod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  /** Labels of the pod (or WorkloadEntry) at `ip`, for `sourceLabels` matches and selectors. */
  podLabels(ip: string): Labels | undefined {
    const pod = this.podByIp(ip);
    if (pod) return pod.labels;
    for (const w of this.entries.values()) if (w.address === ip) return w.labels;
    return undefined;
  }

  allPods(): readonly RegistryPod[] {
    return [...this.pods.values()];
  }

  /** The service ports the workload at `ip` serves, across every service selecting it. */
  instancesOf(ip: string): readonly ServiceInstance[] {
    const out: ServiceInstance[] = [];
    for (const key of this.recordsByEndpointAddress.get(ip) ?? []) {
      const rec = this.records.get(key)!;
      for (const p of rec.service.ports) {
        for (const endpoint of rec.endpoints.get(p.port) ?? []) {
          if (endpoint.address === ip) out.push({ service: rec.service, servicePort: p, targetPort: endpoint.port, endpoint });
        }
      }
    }
    return out;
  }

  /**
   * The service a connection to `ip:port` is for: a VIP with that port declared, or — headless services —
   * a pod address on a port the service declares. Istio builds listeners only for declared ports, so an
   * undeclared port of a headless service's pod matches nothing (and is passed through).
   */
  serviceForAddress(ip: string, port: number): RegistryService | undefined {
    for (const rec of this.records.atAddress(ip)) if (rec.service.ports.some((p) => p.port === port)) return rec.service;
    for (const inst of this.instancesOf(ip)) if (inst.service.headless && inst.servicePort.port === port) return inst.service;
    return undefined;
  }

  /** A VirtualService/DestinationRule host, read as Istio reads it from config in `configNamespace`. */
  resolveHost(host: string, configNamespace: string): HostResolution {
    return resolveHost(host, configNamespace, this.options.domainSuffix, {
      servicesNamed: (h) => this.servicesNamed(h),
      allServices: () => this.services(),
      endpointsOf: (svc) => [...(this.records.get(recordKey(svc))?.endpoints.values() ?? [])].flat(),
    });
  }

  private pick(hostname: string, fromNamespace?: string): ServiceRecord | undefined {
    let best: ServiceRecord | undefined;
    for (const rec of this.records.named(hostname)) {
      if (fromNamespace !== undefined && !isVisible(rec.service.exportTo, fromNamespace)) continue;
      if (!best || precedes(rec, best, fromNamespace)) best = rec;
    }
    return best;
  }
}

function precedes(a: ServiceRecord, b: ServiceRecord, fromNamespace: string | undefined): boolean {
  if (fromNamespace !== undefined) {
    const aLocal = a.service.namespace === fromNamespace;
    if (aLocal !== (b.service.namespace === fromNamespace)) return aLocal;
  }
  if (a.service.source !== b.service.source) return a.service.source === 'kubernetes';
  return a.seq < b.seq;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A registry built from a full set of resources at once (Deployments already expanded into Pods). */
export function buildRegistry(resources: readonly LoadedResource[], options: Partial<RegistryOptions> = {}): ServiceRegistry {
  const registry = new ServiceRegistry(options);
  registry.apply(resources.map((resource): ConfigEvent => ({ type: 'upsert', resource })));
  return registry;
}
