/**
 * A fixed ServiceView for generator tests: the registry's job (turning Services and Pods into this) is
 * tested on its own; here the inputs are spelled out so each generated field can be checked against them.
 */
import type { MeshEndpoint, MeshService, ServiceView, WorkloadInstance } from '../../src/pilot/model.js';

export interface FakePod {
  ip: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  sa: string;
  sidecar?: boolean;
  locality?: { region: string; zone: string; subZone: string };
}

export class FakeServices implements ServiceView {
  constructor(
    readonly list: MeshService[],
    readonly pods: FakePod[],
    /** hostname → selector; endpoints are the pods matching it, on targetPort = service port unless mapped. */
    readonly selectors: Record<string, Record<string, string>>,
    readonly targetPorts: Record<string, number> = {},
  ) {}

  services(): readonly MeshService[] {
    return this.list;
  }
  service(hostname: string): MeshService | undefined {
    return this.list.find((s) => s.hostname === hostname);
  }
  private selected(hostname: string): FakePod[] {
    const sel = this.selectors[hostname];
    const svc = this.service(hostname);
    if (!sel || !svc) return [];
    return this.pods.filter((p) => p.namespace === svc.namespace && Object.entries(sel).every(([k, v]) => p.labels[k] === v));
  }
  endpoints(hostname: string, servicePort: number): readonly MeshEndpoint[] {
    return this.selected(hostname).map((p) => ({
      address: p.ip,
      port: this.targetPorts[`${hostname}:${servicePort}`] ?? servicePort,
      servicePort,
      labels: p.labels,
      ready: true,
      serviceAccount: `spiffe://cluster.local/ns/${p.namespace}/sa/${p.sa}`,
      locality: p.locality ?? { region: '', zone: '', subZone: '' },
      tlsMode: p.sidecar === false ? 'disabled' : 'istio',
      weight: 1,
      workload: { name: p.name, namespace: p.namespace },
    }));
  }
  instancesOf(ip: string): readonly WorkloadInstance[] {
    const out: WorkloadInstance[] = [];
    for (const svc of this.list) {
      if (!this.selected(svc.hostname).some((p) => p.ip === ip)) continue;
      for (const port of svc.ports) out.push({ service: svc, servicePort: port, targetPort: this.targetPorts[`${svc.hostname}:${port.port}`] ?? port.port });
    }
    return out;
  }
  podLabels(ip: string): Readonly<Record<string, string>> | undefined {
    return this.pods.find((p) => p.ip === ip)?.labels;
  }
}

export function k8sService(name: string, namespace: string, vip: string, ports: MeshService['ports'], sas: string[], headless = false): MeshService {
  return {
    hostname: `${name}.${namespace}.svc.cluster.local`,
    namespace,
    addresses: headless ? [] : [vip],
    ports,
    resolution: headless ? 'Passthrough' : 'ClientSideLB',
    meshExternal: false,
    exportTo: new Set(['*']),
    serviceAccounts: sas.map((sa) => `spiffe://cluster.local/ns/${namespace}/sa/${sa}`),
    source: 'kubernetes',
  };
}
