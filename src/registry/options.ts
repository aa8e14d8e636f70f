/**
 * The few mesh settings the registry needs. When the mesh config (`MeshConfig` in src/config/) exists,
 * the caller maps its fields onto these; until then these defaults describe the local mesh.
 */

export interface RegistryOptions {
  /** DNS suffix of Kubernetes services (`name.ns.svc.<domainSuffix>`). */
  readonly domainSuffix: string;
  /** SPIFFE trust domain of workload identities (`spiffe://<trustDomain>/ns/<ns>/sa/<sa>`). */
  readonly trustDomain: string;
  /** The mesh's root namespace (mesh-wide Sidecar/PeerAuthentication live here). */
  readonly rootNamespace: string;
  /** Pod addresses are allocated from here unless a Pod's `status.podIP` is given. */
  readonly podCidr: string;
  /** Service VIPs are allocated from here unless a Service's `spec.clusterIP` is given. */
  readonly serviceCidr: string;
  /**
   * Local-mesh injection default: true = every pod gets a sidecar unless its namespace is labelled
   * `istio-injection=disabled` or the pod says `sidecar.istio.io/inject: "false"`.
   */
  readonly injectByDefault: boolean;
  /** Readiness of a pod whose manifest has no `Ready` condition, before the runtime reports any. */
  readonly podsReadyByDefault: boolean;
  /** Mesh `defaultServiceExportTo`. */
  readonly defaultServiceExportTo: readonly string[];
  /**
   * Give address-less ServiceEntry hosts a VIP from `serviceEntryCidr` (Istio's DNS auto-allocation).
   * Off by default, as in Istio: such hosts are matched by Host header (HTTP) or port (TCP).
   */
  readonly autoAllocateServiceEntryAddresses: boolean;
  readonly serviceEntryCidr: string;
}

export const DEFAULT_REGISTRY_OPTIONS: RegistryOptions = Object.freeze({
  domainSuffix: 'cluster.local',
  trustDomain: 'cluster.local',
  rootNamespace: 'istio-system',
  podCidr: '10.88.0.0/16',
  serviceCidr: '10.96.0.0/16',
  injectByDefault: true,
  podsReadyByDefault: true,
  defaultServiceExportTo: Object.freeze(['*']),
  autoAllocateServiceEntryAddresses: false,
  serviceEntryCidr: '240.240.0.0/16',
});

export function registryOptions(overrides: Partial<RegistryOptions> = {}): RegistryOptions {
  return Object.freeze({ ...DEFAULT_REGISTRY_OPTIONS, ...overrides });
}

export function spiffeIdentity(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}
