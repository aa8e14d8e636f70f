/**
 * What the xDS generators read: services, their endpoints, the proxy asking, and the Istio config in
 * force. This mirrors Istio's own split (model.Service / IstioEndpoint / Proxy / PushContext) so the
 * generators stay independent of where services come from (files, Kubernetes, ServiceEntries); the
 * registry is adapted to it in registry-view.ts.
 */
import type { Protocol } from '../registry/protocol.js';

export type Resolution = 'ClientSideLB' | 'Passthrough' | 'DNS' | 'DNSRoundRobin';

export interface ServicePort {
  name?: string;
  port: number;
  protocol: Protocol;
}

export interface MeshService {
  /** FQDN (`reviews.default.svc.cluster.local`) or a ServiceEntry host (`httpbin.org`). */
  hostname: string;
  namespace: string;
  /** Service VIPs (ClusterIP, ServiceEntry addresses); empty for headless services and address-less entries. */
  addresses: readonly string[];
  ports: readonly ServicePort[];
  resolution: Resolution;
  /** ServiceEntry `location: MESH_EXTERNAL`: never auto-mTLS. */
  meshExternal: boolean;
  /** Namespaces that may see it (`*` = all). */
  exportTo: ReadonlySet<string>;
  /** SPIFFE identities its endpoints run as, for the client's SAN check. */
  serviceAccounts: readonly string[];
  /** Where the service is defined, for config_dump metadata. */
  source: 'kubernetes' | 'serviceentry';
}

export interface Locality {
  region: string;
  zone: string;
  subZone: string;
}

export interface MeshEndpoint {
  address: string;
  /** The port the workload listens on for this service port (targetPort). */
  port: number;
  /** The service port this endpoint serves. */
  servicePort: number;
  labels: Readonly<Record<string, string>>;
  ready: boolean;
  /** `spiffe://…` identity, when known. */
  serviceAccount?: string;
  locality: Locality;
  /** `istio` when the workload has a sidecar (auto mTLS target), else `disabled`. */
  tlsMode: 'istio' | 'disabled';
  weight: number;
  /** Pod hostname under a headless service (`peers-0.peers.default.svc.cluster.local`). */
  hostname?: string;
  /** Pod (namespace/name) or WorkloadEntry, for telemetry metadata. */
  workload?: { name: string; namespace: string };
}

/** A workload's own ports as declared by the Services that select it: the inbound side. */
export interface WorkloadInstance {
  service: MeshService;
  servicePort: ServicePort;
  targetPort: number;
}

export interface ServiceView {
  services(): readonly MeshService[];
  service(hostname: string): MeshService | undefined;
  endpoints(hostname: string, servicePort: number): readonly MeshEndpoint[];
  /** Services (and ports) selecting the workload at this IP, for its inbound listener. */
  instancesOf(ip: string): readonly WorkloadInstance[];
  /** Labels of the pod with this IP, for `sourceLabels` and selectors. */
  podLabels(ip: string): Readonly<Record<string, string>> | undefined;
}
