/**
 * The API resources the Kubernetes source lists and watches: the kinds the config store knows
 * (src/config/kinds.ts) at the version read from the API server, with the URL path of each.
 * Deployments and StatefulSets are not watched: in a cluster the Pods they create are watched
 * directly, and the registry derives a selector Service's endpoints from Pods. EndpointSlices are read
 * for Services without a selector only (src/registry/endpoint-slice.ts).
 */
export interface ApiResource {
  readonly kind: string;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly clusterScoped: boolean;
  /** A field selector narrowing the list (the mesh ConfigMap is the only ConfigMap we need). */
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
}

/**
 * The slices Kubernetes' endpoint controller writes for Services with a selector repeat what the Pods
 * say, and change with every pod; the registry ignores them, so the API server is asked to leave them out
 * rather than have each of them cost a config change. Every other slice (hand-written, mirrored from an
 * Endpoints object, written by another controller) belongs to a Service without a selector.
 */
export const UNMANAGED_SLICES = 'endpointslice.kubernetes.io/managed-by!=endpointslice-controller.k8s.io';

function core(kind: string, plural: string, extra: Partial<ApiResource> = {}): ApiResource {
  return { kind, group: '', version: 'v1', plural, clusterScoped: false, ...extra };
}

function istio(kind: string, group: 'networking.istio.io' | 'security.istio.io', version: string, plural: string): ApiResource {
  return { kind, group, version, plural, clusterScoped: false };
}

/**
 * `networking.istio.io/v1` and `security.istio.io/v1` are served by Istio 1.22+ and by the CRDs in
 * deploy/; an older cluster can be read with `istioVersion: 'v1beta1'` (see KubeSourceOptions).
 */
export function watchedResources(istioVersion = 'v1'): ApiResource[] {
  return [
    core('Namespace', 'namespaces', { clusterScoped: true }),
    core('Service', 'services'),
    { kind: 'EndpointSlice', group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', clusterScoped: false, labelSelector: UNMANAGED_SLICES },
    core('Pod', 'pods'),
    core('ServiceAccount', 'serviceaccounts'),
    core('Secret', 'secrets'),
    core('ConfigMap', 'configmaps', { fieldSelector: 'metadata.name=istio' }),
    // The injector's policy and never/alwaysInjectSelector (src/inject/injector-config.ts).
    core('ConfigMap', 'configmaps', { fieldSelector: 'metadata.name=istio-sidecar-injector' }),
    istio('Gateway', 'networking.istio.io', istioVersion, 'gateways'),
    istio('VirtualService', 'networking.istio.io', istioVersion, 'virtualservices'),
    istio('DestinationRule', 'networking.istio.io', istioVersion, 'destinationrules'),
    istio('ServiceEntry', 'networking.istio.io', istioVersion, 'serviceentries'),
    istio('WorkloadEntry', 'networking.istio.io', istioVersion, 'workloadentries'),
    istio('Sidecar', 'networking.istio.io', istioVersion, 'sidecars'),
    istio('PeerAuthentication', 'security.istio.io', istioVersion, 'peerauthentications'),
    istio('AuthorizationPolicy', 'security.istio.io', istioVersion, 'authorizationpolicies'),
    istio('RequestAuthentication', 'security.istio.io', istioVersion, 'requestauthentications'),
  ];
}

/** Whether an object named `name` is one `r` lists: two reflectors share ConfigMap, each for one name. */
export function listedBy(r: ApiResource, name: string): boolean {
  const wanted = r.fieldSelector?.startsWith('metadata.name=') ? r.fieldSelector.slice('metadata.name='.length) : undefined;
  return wanted === undefined || wanted === name;
}

export function apiVersionOf(r: ApiResource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** The collection path across all namespaces, e.g. `/apis/networking.istio.io/v1/virtualservices`. */
export function collectionPath(r: ApiResource): string {
  return r.group ? `/apis/${r.group}/${r.version}/${r.plural}` : `/api/${r.version}/${r.plural}`;
}
