/**
 * What of a service's endpoints shows outside EDS, kept per hostname so that an endpoint change can be
 * sorted into Istio's three pushes: EDS only (the common case), a full push (the endpoints shape clusters,
 * listeners or routes), or a full push to the few proxies whose own inbound side moved (Istio's
 * ProxyUpdate). Outside EDS, endpoints show in:
 * - the identities a client checks the server against (the cluster's SANs): Istio pushes in full when a
 *   service's service accounts change;
 * - headless services (a listener per pod address, a route domain per pod name, the cluster's mTLS) and
 *   DNS-resolved ones (the addresses are inlined in the cluster): Istio pushes headless endpoint
 *   changes in full, and so do we for both;
 * - the inbound side of the pod at an endpoint address (which service ports it serves, on which port);
 * - the pod's own labels (its proxy's workload selectors: Sidecar, AuthorizationPolicy, PeerAuthentication…),
 *   whether or not a service selects it: Istio sends that pod's proxy a ProxyUpdate.
 */
import type { ConfigEvent } from '../config/events.js';
import { sameLabels, type Labels } from '../registry/labels.js';
import type { RegistryService } from '../registry/model.js';
import type { ServiceRegistry } from '../registry/service-registry.js';

interface HostFacts {
  identities: string;
  /** Endpoint address → what its inbound side serves for this host (namespace, service port → port). */
  instances: Map<string, string>;
}

export interface EndpointChange {
  /** Some changed host's endpoints also shape clusters, listeners or routes: push everything. */
  structural: boolean;
  /** Addresses whose inbound side changed: their proxies need their own listeners and clusters again. */
  moved: Set<string>;
}

export class EndpointFacts {
  private readonly hosts = new Map<string, HostFacts>();

  constructor(private readonly registry: ServiceRegistry) {}

  /** Re-reads `hostnames` after a registry change (every change, so a service is known from when it appears) and says what moved outside EDS. */
  update(hostnames: Iterable<string>): EndpointChange {
    const change: EndpointChange = { structural: false, moved: new Set() };
    for (const hostname of hostnames) {
      const services = this.registry.servicesNamed(hostname);
      const before = this.hosts.get(hostname);
      const after = this.read(hostname, services);
      if (after.instances.size === 0 && !services.length) this.hosts.delete(hostname);
      else this.hosts.set(hostname, after);
      if (services.some((s) => s.resolution !== 'ClientSideLB')) change.structural = true;
      if (before && before.identities !== after.identities) change.structural = true;
      const was = before?.instances ?? new Map<string, string>();
      for (const [address, sig] of after.instances) if (was.get(address) !== sig) change.moved.add(address);
      for (const address of was.keys()) if (!after.instances.has(address)) change.moved.add(address);
    }
    return change;
  }

  private read(hostname: string, services: readonly RegistryService[]): HostFacts {
    const instances = new Map<string, string>();
    for (const svc of services) {
      for (const port of svc.ports) {
        for (const e of this.registry.endpoints(hostname, port.port, undefined, svc.namespace)) {
          const sig = `${svc.namespace}:${port.port}>${e.port};`;
          instances.set(e.address, (instances.get(e.address) ?? '') + sig);
        }
      }
    }
    return { identities: this.registry.serviceAccounts(hostname).join(','), instances };
  }
}

/**
 * The labels the registry holds now for the Pods `events` name, by `namespace/name` (read before applying
 * them). A Deployment's or StatefulSet's template change makes new pods at new addresses instead, which
 * `update` already reports as moved.
 */
export function podLabelsBefore(registry: ServiceRegistry, events: readonly ConfigEvent[]): Map<string, Labels | undefined> {
  const out = new Map<string, Labels | undefined>();
  for (const e of events) {
    const r = e.resource.resource;
    if (r.kind !== 'Pod') continue;
    const ns = r.metadata.namespace ?? 'default';
    out.set(`${ns}/${r.metadata.name}`, registry.podByName(ns, r.metadata.name)?.labels);
  }
  return out;
}

/** Addresses of the pods among `before` that are still there with other labels (after the events applied). */
export function relabelledPods(registry: ServiceRegistry, before: ReadonlyMap<string, Labels | undefined>): string[] {
  const out: string[] = [];
  for (const [key, labels] of before) {
    const slash = key.indexOf('/');
    const pod = registry.podByName(key.slice(0, slash), key.slice(slash + 1));
    if (pod && labels && !sameLabels(labels, pod.labels)) out.push(pod.address);
  }
  return out;
}
