/**
 * EndpointSlices as the endpoints of a Kubernetes Service without a selector. Such a Service's endpoints
 * are written by someone else (a controller, an operator, a user pointing a Service at addresses outside
 * the cluster) into slices labelled `kubernetes.io/service-name`; a Service with a selector gets its
 * endpoints from the Pods it selects instead, so slices (which the endpoint controller derives from those
 * same Pods) are not read for it and nothing is counted twice. This is also Istio's split.
 *
 * Ports are matched by name, as kube-proxy does: a slice port serves the Service port of the same name
 * (both unnamed for a single-port Service), and its number is the endpoint's port. An endpoint whose
 * `targetRef` is a Pod the registry knows takes that pod's labels, identity, network and TLS mode (subsets
 * and auto mTLS then work as for selected pods); the slice's `zone` is the endpoint's zone.
 */
import { isPlainObject } from '../config/documents.js';
import type { LoadedResource } from '../config/resource.js';
import type { EndpointBuildOptions, EndpointsByPort } from './endpoint-builder.js';
import { stringMap } from './labels.js';
import type { Locality, RegistryEndpoint, RegistryPod, RegistryService } from './model.js';
import { NO_LOCALITY } from './model.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface SliceEndpoint {
  readonly addresses: readonly string[];
  /** `conditions.ready`; absent means ready (the API's rule for an unknown state). */
  readonly ready: boolean;
  readonly hostname?: string;
  readonly zone?: string;
  readonly nodeName?: string;
  /** `namespace/name` of the Pod named by `targetRef`. */
  readonly podKey?: string;
}

export interface RegistrySlice {
  readonly namespace: string;
  /** The Service it belongs to (its `kubernetes.io/service-name` label); undefined belongs to none. */
  readonly serviceName?: string;
  readonly ports: readonly { readonly name: string; readonly port: number }[];
  readonly endpoints: readonly SliceEndpoint[];
}

export function sliceFromResource(loaded: LoadedResource): RegistrySlice {
  const r = loaded.resource;
  const namespace = r.metadata.namespace ?? 'default';
  const serviceName = stringMap(r.metadata.labels)[SERVICE_NAME_LABEL];
  // FQDN slices name hosts, not addresses a proxy can be sent to; Istio skips them too.
  const usable = r.addressType === 'IPv4' || r.addressType === 'IPv6';
  const ports = (Array.isArray(r.ports) ? r.ports.filter(isPlainObject) : []).flatMap((p) =>
    // A null port means "all ports": there is no number to send traffic to, so it serves nothing here.
    typeof p.port === 'number' ? [{ name: typeof p.name === 'string' ? p.name : '', port: p.port }] : [],
  );
  const endpoints = usable ? (Array.isArray(r.endpoints) ? r.endpoints.filter(isPlainObject) : []).map((e) => sliceEndpoint(e, namespace)) : [];
  return { namespace, ...(serviceName ? { serviceName } : {}), ports, endpoints };
}

function sliceEndpoint(e: Record<string, unknown>, namespace: string): SliceEndpoint {
  const conditions = isPlainObject(e.conditions) ? e.conditions : {};
  const ref = isPlainObject(e.targetRef) ? e.targetRef : {};
  const podKey = ref.kind === 'Pod' && typeof ref.name === 'string' ? `${typeof ref.namespace === 'string' && ref.namespace ? ref.namespace : namespace}/${ref.name}` : undefined;
  return {
    addresses: Array.isArray(e.addresses) ? e.addresses.filter((a): a is string => typeof a === 'string' && a !== '') : [],
    ready: conditions.ready !== false,
    ...(nonEmpty(e.hostname) ? { hostname: e.hostname as string } : {}),
    ...(nonEmpty(e.zone) ? { zone: e.zone as string } : {}),
    ...(nonEmpty(e.nodeName) ? { nodeName: e.nodeName as string } : {}),
    ...(podKey ? { podKey } : {}),
  };
}

/**
 * The endpoints of `service` (a Kubernetes Service without a selector) from its slices. An address in
 * several slices (a controller moving it between slices) is one endpoint, ready if any slice says so.
 */
export function buildSliceEndpoints(
  service: RegistryService,
  slices: Iterable<RegistrySlice>,
  podOf: (key: string) => RegistryPod | undefined,
  opts: EndpointBuildOptions,
): EndpointsByPort {
  const byPort = new Map<number, Map<string, RegistryEndpoint>>();
  for (const p of service.ports) byPort.set(p.port, new Map());
  for (const slice of slices) {
    for (const p of service.ports) {
      const sp = slice.ports.find((s) => s.name === (p.name ?? ''));
      if (!sp) continue;
      const list = byPort.get(p.port)!;
      for (const e of slice.endpoints) {
        const pod = e.podKey ? podOf(e.podKey) : undefined;
        for (const address of e.addresses) {
          const id = `${address}:${sp.port}`;
          const seen = list.get(id);
          if (seen && (seen.ready || !e.ready)) continue;
          const hostname = service.headless && e.hostname ? `${e.hostname}.${service.name}.${service.namespace}.svc.${opts.domainSuffix}` : undefined;
          list.set(id, {
            address,
            port: sp.port,
            servicePort: p.port,
            labels: pod?.labels ?? {},
            ready: e.ready || opts.publishNotReadyAddresses === true,
            ...(pod?.identity ? { serviceAccount: pod.identity } : {}),
            locality: locality(pod, e.zone),
            network: pod?.network ?? '',
            tlsMode: pod?.tlsMode ?? 'disabled',
            weight: 1,
            ...(hostname ? { hostname } : {}),
            ...(pod ? { workload: { kind: 'Pod' as const, name: pod.name, namespace: pod.namespace } } : {}),
          });
        }
      }
    }
  }
  const out = new Map<number, RegistryEndpoint[]>();
  for (const [port, list] of byPort) out.set(port, [...list.values()].sort(compareEndpoints));
  return out;
}

/** The slice's zone (copied by the endpoint controller from the pod's node) over what the pod's labels say. */
function locality(pod: RegistryPod | undefined, zone: string | undefined): Locality {
  const base = pod?.locality ?? NO_LOCALITY;
  return zone && zone !== base.zone ? { ...base, zone } : base;
}

function compareEndpoints(a: RegistryEndpoint, b: RegistryEndpoint): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return a.port - b.port;
}

function nonEmpty(v: unknown): boolean {
  return typeof v === 'string' && v !== '';
}
