/**
 * The endpoints of one service, port by port, from the workloads it selects (or its static ones).
 * Target ports are resolved per workload, as kube-proxy and Istio do: a numeric `targetPort` is used as
 * is; a named one is looked up in each pod's container ports, and a pod without that name is not an
 * endpoint of that port; no `targetPort` means the service port.
 */
import type { RegistryEndpoint, RegistryPod, RegistryService, RegistryServicePort, Workload } from './model.js';

export interface EndpointBuildOptions {
  readonly domainSuffix: string;
  readonly publishNotReadyAddresses?: boolean;
}

/** Service port → its endpoints, sorted by address then port so that equal sets compare equal. */
export type EndpointsByPort = ReadonlyMap<number, readonly RegistryEndpoint[]>;

export function buildEndpoints(service: RegistryService, workloads: Iterable<Workload>, opts: EndpointBuildOptions): EndpointsByPort {
  const byPort = new Map<number, RegistryEndpoint[]>();
  for (const p of service.ports) byPort.set(p.port, []);
  for (const w of workloads) {
    if (w.address === '') continue;
    const hostname = podHostname(service, w, opts.domainSuffix);
    for (const p of service.ports) {
      const port = targetPortFor(service, p, w);
      if (port === undefined) continue;
      byPort.get(p.port)!.push({
        address: w.address,
        port,
        servicePort: p.port,
        labels: w.labels,
        ready: w.ready || opts.publishNotReadyAddresses === true,
        ...(w.identity ? { serviceAccount: w.identity } : {}),
        locality: w.locality,
        network: w.network,
        tlsMode: w.tlsMode,
        weight: w.weight,
        ...(hostname ? { hostname } : {}),
        workload: { kind: w.kind, name: w.name, namespace: w.namespace },
      });
    }
  }
  for (const list of byPort.values()) list.sort(compareEndpoints);
  return byPort;
}

/** The port on the workload that serves service port `p`, or undefined when it serves none. */
export function targetPortFor(service: RegistryService, p: RegistryServicePort, w: Workload): number | undefined {
  const tp = p.targetPort;
  if (w.kind === 'Pod') {
    if (typeof tp === 'string') return w.namedPorts.get(tp);
    return tp ?? p.port;
  }
  // WorkloadEntries and ServiceEntry endpoints map ports by the *service* port's name.
  const byName = p.name !== undefined ? w.namedPorts.get(p.name) : undefined;
  if (byName !== undefined) return byName;
  if (typeof tp === 'string') return w.namedPorts.get(tp);
  if (service.source === 'kubernetes' || tp !== undefined) return tp ?? p.port;
  return p.port;
}

/**
 * `<hostname>.<subdomain>.<ns>.svc.<domain>` for a pod under the headless service named by its
 * `subdomain`, as Kubernetes DNS publishes it (only headless services get per-pod names).
 */
export function podHostname(service: RegistryService, w: Workload, domainSuffix: string): string | undefined {
  if (!service.headless || w.kind !== 'Pod') return undefined;
  const pod = w as RegistryPod;
  if (!pod.hostname || pod.subdomain !== service.name) return undefined;
  return `${pod.hostname}.${pod.subdomain}.${pod.namespace}.svc.${domainSuffix}`;
}

function compareEndpoints(a: RegistryEndpoint, b: RegistryEndpoint): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return a.port - b.port;
}
