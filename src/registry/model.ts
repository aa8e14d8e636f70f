/**
 * What the registry holds and hands out: services (from Kubernetes Services and ServiceEntry hosts),
 * workloads (Pods and WorkloadEntries) and the endpoints that join them. Field names follow the pilot's
 * `MeshService`/`MeshEndpoint` (src/pilot/model.ts) so a registry object can be passed where those are
 * read; the extra fields carry what the registry itself needs (hostnames, selectors, target ports).
 */
import type { ResourceSource } from '../config/resource.js';
import type { Protocol } from './protocol.js';

/** How a client reaches a service's endpoints, as Istio's `model.Resolution`. */
export type Resolution = 'ClientSideLB' | 'Passthrough' | 'DNS' | 'DNSRoundRobin';

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export const NO_LOCALITY: Locality = Object.freeze({ region: '', zone: '', subZone: '' });

export interface RegistryServicePort {
  readonly name?: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** Kubernetes `targetPort` (a number, or a container port name resolved per pod) or ServiceEntry `targetPort`. */
  readonly targetPort?: number | string;
  readonly appProtocol?: string;
}

export interface RegistryService {
  /** FQDN (`reviews.default.svc.cluster.local`) or a ServiceEntry host (`httpbin.org`, `*.example.com`). */
  readonly hostname: string;
  readonly namespace: string;
  /** The Kubernetes Service or ServiceEntry name. */
  readonly name: string;
  /**
   * Every name that reaches the service from its own namespace (`name`, `name.ns`, `name.ns.svc`, the FQDN)
   * for Kubernetes services; just the host for ServiceEntry hosts.
   */
  readonly hostnames: readonly string[];
  /** VIPs: the ClusterIP, or the ServiceEntry `addresses`; empty when headless / address-less. */
  readonly addresses: readonly string[];
  readonly ports: readonly RegistryServicePort[];
  readonly resolution: Resolution;
  /** Kubernetes `clusterIP: None`: no VIP, per-pod hostnames, only declared ports reachable. */
  readonly headless: boolean;
  /** ServiceEntry `location: MESH_EXTERNAL` (the default for ServiceEntries): never auto-mTLS. */
  readonly meshExternal: boolean;
  /** Namespaces that may see it, `*` meaning all; `.` is already resolved to `namespace`. */
  readonly exportTo: ReadonlySet<string>;
  /**
   * Identities declared on the service itself (ServiceEntry `subjectAltNames`). Identities of the
   * endpoints are a property of the endpoints: `ServiceRegistry.serviceAccounts(hostname)`.
   */
  readonly serviceAccounts: readonly string[];
  readonly source: 'kubernetes' | 'serviceentry';
  /** Pod selector (Kubernetes `selector`, ServiceEntry `workloadSelector.labels`); undefined selects nothing. */
  readonly selector?: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** Where the defining object was read from. */
  readonly origin?: ResourceSource;
}

/**
 * A source of endpoints: a Pod, a WorkloadEntry, or (`ServiceEntry`) one inline `endpoints` entry of a
 * ServiceEntry, a DNS host standing for itself, or an ExternalName target.
 */
export interface Workload {
  readonly kind: 'Pod' | 'WorkloadEntry' | 'ServiceEntry';
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Service account name (`default` when a pod names none). */
  readonly serviceAccountName?: string;
  /** `spiffe://<trustDomain>/ns/<ns>/sa/<sa>` when the workload has a service account. */
  readonly identity?: string;
  readonly ready: boolean;
  readonly locality: Locality;
  readonly network: string;
  readonly weight: number;
  /** `istio` when a sidecar (or another mesh proxy) terminates mTLS for it. */
  readonly tlsMode: 'istio' | 'disabled';
  /** Named ports: a pod's `containerPort` names, a WorkloadEntry's `ports` map. */
  readonly namedPorts: ReadonlyMap<string, number>;
  readonly origin?: ResourceSource;
}

export interface RegistryPod extends Workload {
  readonly kind: 'Pod';
  /** True when `status.podIP` was absent and the registry allocated the address. */
  readonly ipAllocated: boolean;
  /** Whether the pod runs a sidecar (see sidecar-injection.ts). */
  readonly sidecar: boolean;
  /** `spec.hostname` / `spec.subdomain`: a StatefulSet pod's stable DNS name under its headless service. */
  readonly hostname?: string;
  readonly subdomain?: string;
  readonly phase: string;
}

export interface RegistryEndpoint {
  readonly address: string;
  /** The port the workload listens on (the resolved target port). */
  readonly port: number;
  /** The service port this endpoint serves. */
  readonly servicePort: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly ready: boolean;
  /** SPIFFE identity, when known. */
  readonly serviceAccount?: string;
  readonly locality: Locality;
  readonly network: string;
  readonly tlsMode: 'istio' | 'disabled';
  readonly weight: number;
  /** Per-pod name under a headless service (`web-0.web.default.svc.cluster.local`). */
  readonly hostname?: string;
  readonly workload?: { readonly kind: 'Pod' | 'WorkloadEntry' | 'ServiceEntry'; readonly name: string; readonly namespace: string };
}
