/**
 * The resource kinds Sailfin accepts, with the apiVersions each is served at. This table is the
 * single answer to "is this object ours?": the loader uses it to warn about foreign kinds and to
 * reject a known kind written with a wrong apiVersion (a typo that would otherwise be ignored).
 */

export type KnownKind =
  | 'Namespace'
  | 'Service'
  | 'EndpointSlice'
  | 'Pod'
  | 'ServiceAccount'
  | 'Secret'
  | 'ConfigMap'
  | 'Deployment'
  | 'StatefulSet'
  | 'Gateway'
  | 'VirtualService'
  | 'DestinationRule'
  | 'ServiceEntry'
  | 'WorkloadEntry'
  | 'Sidecar'
  | 'PeerAuthentication'
  | 'AuthorizationPolicy'
  | 'RequestAuthentication';

export interface KindInfo {
  readonly kind: KnownKind;
  readonly group: string;
  readonly versions: readonly string[];
  /** Cluster-scoped objects have no namespace (only Namespace among ours). */
  readonly clusterScoped: boolean;
  /** Istio CRDs are validated against Istio's published OpenAPI schemas. */
  readonly istio: boolean;
}

const NETWORKING = 'networking.istio.io';
const SECURITY = 'security.istio.io';
const NETWORKING_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;
const SECURITY_VERSIONS = ['v1', 'v1beta1'] as const;

function kind(kind: KnownKind, group: string, versions: readonly string[], extra: Partial<KindInfo> = {}): KindInfo {
  return { kind, group, versions, clusterScoped: false, istio: false, ...extra };
}

export const KINDS: ReadonlyMap<KnownKind, KindInfo> = new Map(
  [
    kind('Namespace', '', ['v1'], { clusterScoped: true }),
    kind('Service', '', ['v1']),
    kind('EndpointSlice', 'discovery.k8s.io', ['v1']),
    kind('Pod', '', ['v1']),
    kind('ServiceAccount', '', ['v1']),
    kind('Secret', '', ['v1']),
    kind('ConfigMap', '', ['v1']),
    kind('Deployment', 'apps', ['v1']),
    kind('StatefulSet', 'apps', ['v1']),
    kind('Gateway', NETWORKING, NETWORKING_VERSIONS, { istio: true }),
    kind('VirtualService', NETWORKING, NETWORKING_VERSIONS, { istio: true }),
    kind('DestinationRule', NETWORKING, NETWORKING_VERSIONS, { istio: true }),
    kind('ServiceEntry', NETWORKING, NETWORKING_VERSIONS, { istio: true }),
    kind('WorkloadEntry', NETWORKING, NETWORKING_VERSIONS, { istio: true }),
    kind('Sidecar', NETWORKING, NETWORKING_VERSIONS, { istio: true }),
    kind('PeerAuthentication', SECURITY, SECURITY_VERSIONS, { istio: true }),
    kind('AuthorizationPolicy', SECURITY, SECURITY_VERSIONS, { istio: true }),
    kind('RequestAuthentication', SECURITY, SECURITY_VERSIONS, { istio: true }),
  ].map((k) => [k.kind, k]),
);

export function apiVersionsOf(info: KindInfo): string[] {
  return info.versions.map((v) => (info.group ? `${info.group}/${v}` : v));
}

export type KindLookup =
  | { status: 'known'; info: KindInfo }
  /** A kind we serve, written with an apiVersion it is not served at: almost always a mistake. */
  | { status: 'wrong-version'; info: KindInfo }
  /** A kind Sailfin does not know (another project's CRD, a core kind we do not use). */
  | { status: 'unknown' };

export function lookupKind(apiVersion: string, kindName: string): KindLookup {
  const info = KINDS.get(kindName as KnownKind);
  if (!info) return { status: 'unknown' };
  return apiVersionsOf(info).includes(apiVersion) ? { status: 'known', info } : { status: 'wrong-version', info };
}

/** Kinds whose objects are a list of other objects (`kubectl get -o yaml` output). */
export function isListKind(apiVersion: string, kindName: string): boolean {
  return apiVersion === 'v1' && (kindName === 'List' || kindName.endsWith('List'));
}
