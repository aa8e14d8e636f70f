/** The registry as the generators read it (src/pilot/model.ts): the same objects, plus endpoint identities. */
import type { MeshEndpoint, MeshService, ServiceView, WorkloadInstance } from '../pilot/model.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import type { RegistryEndpoint, RegistryService } from '../registry/model.js';

export class RegistryView implements ServiceView {
  /** Per-service views, kept until the registry changes: every proxy of a push reads the same ones. */
  private cache = new Map<RegistryService, MeshService>();

  constructor(readonly registry: ServiceRegistry) {
    registry.subscribe(() => this.cache.clear());
  }

  /** The client checks the server's SAN against every identity the service's endpoints run as. */
  private mesh(svc: RegistryService): MeshService {
    let m = this.cache.get(svc);
    if (!m) {
      m = { ...svc, serviceAccounts: [...new Set([...svc.serviceAccounts, ...this.registry.serviceAccounts(svc.hostname)])] };
      this.cache.set(svc, m);
    }
    return m;
  }

  services(): readonly MeshService[] {
    return this.registry.services().map((s) => this.mesh(s));
  }

  service(hostname: string): MeshService | undefined {
    const s = this.registry.service(hostname);
    return s && this.mesh(s);
  }

  endpoints(hostname: string, servicePort: number): readonly MeshEndpoint[] {
    return this.registry.endpoints(hostname, servicePort).map(toMeshEndpoint);
  }

  instancesOf(ip: string): readonly WorkloadInstance[] {
    return this.registry.instancesOf(ip).map((i) => ({ service: this.mesh(i.service), servicePort: i.servicePort, targetPort: i.endpoint.port }));
  }

  podLabels(ip: string): Readonly<Record<string, string>> | undefined {
    return this.registry.podByIp(ip)?.labels;
  }
}

function toMeshEndpoint(e: RegistryEndpoint): MeshEndpoint {
  return {
    address: e.address,
    port: e.port,
    servicePort: e.servicePort,
    labels: e.labels,
    ready: e.ready,
    serviceAccount: e.serviceAccount,
    locality: e.locality,
    tlsMode: e.tlsMode,
    weight: e.weight,
    hostname: e.hostname,
    workload: e.workload && { name: e.workload.name, namespace: e.workload.namespace },
  };
}
