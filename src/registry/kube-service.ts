/**
 * A Kubernetes Service as a registry service: its hostnames (Istio's short name, `name.ns`, `name.ns.svc`
 * and the FQDN), its VIP, its ports with protocols, and its visibility. The VIP itself is chosen by the
 * registry (declared `clusterIP`, else allocated), so only the request is read here.
 */
import { isPlainObject } from '../config/documents.js';
import type { LoadedResource } from '../config/resource.js';
import { EXPORT_TO_ANNOTATION, parseExportToAnnotation } from './export-to.js';
import { serviceFqdn } from './hostname.js';
import { stringMap } from './labels.js';
import type { RegistryService, RegistryServicePort, Workload } from './model.js';
import { convertProtocol } from './protocol.js';
import { NO_LOCALITY } from './model.js';

export interface KubeServiceContext {
  readonly domainSuffix: string;
  readonly defaultExportTo: readonly string[];
}

/** What the manifest asks for: no VIP (headless or ExternalName), a given one, or any. */
export type ClusterIpRequest = { readonly kind: 'none' } | { readonly kind: 'declared'; readonly ip: string } | { readonly kind: 'allocate' };

export function clusterIpRequest(loaded: LoadedResource): ClusterIpRequest {
  const spec = isPlainObject(loaded.resource.spec) ? loaded.resource.spec : {};
  if (spec.type === 'ExternalName') return { kind: 'none' };
  const ip = spec.clusterIP;
  if (ip === 'None') return { kind: 'none' };
  if (typeof ip === 'string' && ip !== '') return { kind: 'declared', ip };
  return { kind: 'allocate' };
}

/** Every name of a Kubernetes service, shortest first. */
export function kubeHostnames(name: string, namespace: string, domainSuffix: string): string[] {
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, serviceFqdn(name, namespace, domainSuffix)];
}

export interface KubeServiceRecord {
  readonly service: RegistryService;
  /** ExternalName target, standing for itself as the only endpoint. */
  readonly staticWorkloads: readonly Workload[];
  /** `spec.publishNotReadyAddresses`: endpoints count as ready whatever the pods say. */
  readonly publishNotReadyAddresses: boolean;
}

export function serviceFromKube(loaded: LoadedResource, vip: string | undefined, ctx: KubeServiceContext): KubeServiceRecord {
  const r = loaded.resource;
  const name = r.metadata.name;
  const namespace = r.metadata.namespace ?? 'default';
  const spec = isPlainObject(r.spec) ? r.spec : {};
  const externalName = spec.type === 'ExternalName' && typeof spec.externalName === 'string' ? spec.externalName : undefined;
  const headless = spec.clusterIP === 'None' && !externalName;
  const selector = stringMap(spec.selector);
  const hostnames = kubeHostnames(name, namespace, ctx.domainSuffix);
  const service: RegistryService = {
    hostname: hostnames[3]!,
    namespace,
    name,
    hostnames,
    addresses: vip ? [vip] : [],
    ports: kubePorts(spec.ports),
    resolution: externalName ? 'DNS' : headless ? 'Passthrough' : 'ClientSideLB',
    headless,
    // Istio treats an ExternalName service like an external ServiceEntry: no auto mTLS towards it.
    meshExternal: externalName !== undefined,
    exportTo: parseExportToAnnotation(stringMap(r.metadata.annotations)[EXPORT_TO_ANNOTATION], namespace, ctx.defaultExportTo),
    serviceAccounts: [],
    source: 'kubernetes',
    // A Service without a selector has its endpoints managed by hand (Endpoints objects): none from pods.
    ...(Object.keys(selector).length > 0 && !externalName ? { selector } : {}),
    labels: stringMap(r.metadata.labels),
    origin: loaded.source,
  };
  const staticWorkloads: Workload[] = externalName
    ? [
        {
          kind: 'ServiceEntry',
          name,
          namespace,
          address: externalName,
          labels: {},
          ready: true,
          locality: NO_LOCALITY,
          network: '',
          weight: 1,
          tlsMode: 'disabled',
          namedPorts: new Map(),
        },
      ]
    : [];
  return { service, staticWorkloads, publishNotReadyAddresses: spec.publishNotReadyAddresses === true };
}

function kubePorts(value: unknown): RegistryServicePort[] {
  const list = Array.isArray(value) ? value.filter(isPlainObject) : [];
  const out: RegistryServicePort[] = [];
  for (const p of list) {
    if (typeof p.port !== 'number') continue; // schema validation reports it
    const name = typeof p.name === 'string' && p.name !== '' ? p.name : undefined;
    const appProtocol = typeof p.appProtocol === 'string' && p.appProtocol !== '' ? p.appProtocol : undefined;
    const targetPort = typeof p.targetPort === 'number' || (typeof p.targetPort === 'string' && p.targetPort !== '') ? p.targetPort : undefined;
    out.push({
      ...(name ? { name } : {}),
      port: p.port,
      protocol: convertProtocol(p.port, name, typeof p.protocol === 'string' ? p.protocol : undefined, appProtocol),
      ...(targetPort !== undefined ? { targetPort } : {}),
      ...(appProtocol ? { appProtocol } : {}),
    });
  }
  return out;
}
