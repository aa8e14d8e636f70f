/**
 * CustomResourceDefinitions for Istio's API groups, for clusters without Istio: structural schemas
 * that keep `spec` and `status` as given (x-kubernetes-preserve-unknown-fields) — Sailfin validates
 * the contents itself with file/field messages — served at every version Istio serves, the same
 * schema at each, so no conversion webhook is needed.
 */
type Obj = Record<string, unknown>;

interface CrdKind {
  kind: string;
  plural: string;
  shortNames: string[];
  group: 'networking.istio.io' | 'security.istio.io';
  versions: string[];
  storage: string;
}

const NETWORKING = ['v1alpha3', 'v1beta1', 'v1'];
const SECURITY = ['v1beta1', 'v1'];

export const ISTIO_CRD_KINDS: readonly CrdKind[] = [
  { kind: 'VirtualService', plural: 'virtualservices', shortNames: ['vs'], group: 'networking.istio.io', versions: NETWORKING, storage: 'v1alpha3' },
  { kind: 'DestinationRule', plural: 'destinationrules', shortNames: ['dr'], group: 'networking.istio.io', versions: NETWORKING, storage: 'v1alpha3' },
  { kind: 'Gateway', plural: 'gateways', shortNames: ['gw'], group: 'networking.istio.io', versions: NETWORKING, storage: 'v1alpha3' },
  { kind: 'ServiceEntry', plural: 'serviceentries', shortNames: ['se'], group: 'networking.istio.io', versions: NETWORKING, storage: 'v1alpha3' },
  { kind: 'WorkloadEntry', plural: 'workloadentries', shortNames: ['we'], group: 'networking.istio.io', versions: NETWORKING, storage: 'v1alpha3' },
  { kind: 'WorkloadGroup', plural: 'workloadgroups', shortNames: ['wg'], group: 'networking.istio.io', versions: NETWORKING, storage: 'v1alpha3' },
  { kind: 'Sidecar', plural: 'sidecars', shortNames: [], group: 'networking.istio.io', versions: NETWORKING, storage: 'v1alpha3' },
  { kind: 'EnvoyFilter', plural: 'envoyfilters', shortNames: [], group: 'networking.istio.io', versions: ['v1alpha3'], storage: 'v1alpha3' },
  { kind: 'ProxyConfig', plural: 'proxyconfigs', shortNames: [], group: 'networking.istio.io', versions: ['v1beta1'], storage: 'v1beta1' },
  { kind: 'PeerAuthentication', plural: 'peerauthentications', shortNames: ['pa'], group: 'security.istio.io', versions: SECURITY, storage: 'v1beta1' },
  { kind: 'AuthorizationPolicy', plural: 'authorizationpolicies', shortNames: ['ap'], group: 'security.istio.io', versions: SECURITY, storage: 'v1beta1' },
  { kind: 'RequestAuthentication', plural: 'requestauthentications', shortNames: ['ra'], group: 'security.istio.io', versions: SECURITY, storage: 'v1beta1' },
];

const PRESERVED = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

export function istioCrds(): Obj[] {
  return ISTIO_CRD_KINDS.map((k) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${k.group}`, labels: { 'app.kubernetes.io/part-of': 'sailfin' } },
    spec: {
      group: k.group,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.kind.toLowerCase(),
        ...(k.shortNames.length > 0 ? { shortNames: k.shortNames } : {}),
        categories: ['istio-io', `${k.group.split('.')[0]}-istio-io`],
      },
      scope: 'Namespaced',
      versions: k.versions.map((version) => ({
        name: version,
        served: true,
        storage: version === k.storage,
        subresources: { status: {} },
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: PRESERVED, status: PRESERVED } } },
      })),
    },
  }));
}
