/**
 * A ServiceEntry as registry services, one per host (as Istio does: each host is its own service sharing
 * the entry's ports, addresses, resolution and endpoints). Endpoints come from the inline `endpoints`
 * list, or from Pods and WorkloadEntries chosen by `workloadSelector` (the registry does that selection),
 * or — for DNS resolution with neither — from the host itself, which the proxy resolves.
 */
import { isPlainObject } from '../config/documents.js';
import type { LoadedResource } from '../config/resource.js';
import { parseExportTo } from './export-to.js';
import { isWildcard } from './hostname.js';
import { stringMap } from './labels.js';
import { NO_LOCALITY, type RegistryService, type RegistryServicePort, type Resolution, type Workload } from './model.js';
import { parseProtocol } from './protocol.js';
import { workloadFromEntry } from './workload-entry.js';

export interface ServiceEntryContext {
  readonly defaultExportTo: readonly string[];
  readonly trustDomain: string;
  /** An automatically allocated VIP for an address-less host, or undefined when that is off. */
  readonly autoAddress: (namespace: string, host: string) => string | undefined;
}

export interface ServiceEntryRecord {
  readonly service: RegistryService;
  readonly staticWorkloads: readonly Workload[];
}

const RESOLUTIONS: Readonly<Record<string, Resolution>> = {
  NONE: 'Passthrough',
  STATIC: 'ClientSideLB',
  DNS: 'DNS',
  DNS_ROUND_ROBIN: 'DNSRoundRobin',
  // Wildcard hosts resolved from the request's Host/SNI: the client still resolves by name.
  DYNAMIC_DNS: 'DNS',
};

export function servicesFromEntry(loaded: LoadedResource, ctx: ServiceEntryContext): ServiceEntryRecord[] {
  const r = loaded.resource;
  const namespace = r.metadata.namespace ?? 'default';
  const spec = isPlainObject(r.spec) ? r.spec : {};
  const hosts = strings(spec.hosts);
  const resolution = RESOLUTIONS[typeof spec.resolution === 'string' ? spec.resolution : 'NONE'] ?? 'Passthrough';
  const selectorLabels = isPlainObject(spec.workloadSelector) ? stringMap(spec.workloadSelector.labels) : undefined;
  const inline = Array.isArray(spec.endpoints)
    ? spec.endpoints.map((e) => workloadFromEntry(e, { kind: 'ServiceEntry', name: r.metadata.name, namespace, trustDomain: ctx.trustDomain }))
    : [];
  const base = {
    namespace,
    name: r.metadata.name,
    ports: entryPorts(spec.ports),
    resolution,
    headless: false,
    meshExternal: spec.location !== 'MESH_INTERNAL',
    exportTo: parseExportTo(strings(spec.exportTo), namespace, ctx.defaultExportTo),
    serviceAccounts: strings(spec.subjectAltNames),
    source: 'serviceentry' as const,
    ...(selectorLabels ? { selector: selectorLabels } : {}),
    labels: stringMap(r.metadata.labels),
    origin: loaded.source,
  };
  const declared = strings(spec.addresses);
  return hosts.map((host) => {
    const auto = declared.length === 0 && resolution !== 'Passthrough' && !isWildcard(host) ? ctx.autoAddress(namespace, host) : undefined;
    const service: RegistryService = { ...base, hostname: host, hostnames: [host], addresses: auto ? [auto] : declared };
    const hostItself = (resolution === 'DNS' || resolution === 'DNSRoundRobin') && inline.length === 0 && !selectorLabels && !isWildcard(host);
    return { service, staticWorkloads: hostItself ? [hostEndpoint(host, r.metadata.name, namespace)] : inline };
  });
}

function hostEndpoint(host: string, name: string, namespace: string): Workload {
  return {
    kind: 'ServiceEntry',
    name,
    namespace,
    address: host,
    labels: {},
    ready: true,
    locality: NO_LOCALITY,
    network: '',
    weight: 1,
    tlsMode: 'disabled',
    namedPorts: new Map(),
  };
}

function entryPorts(value: unknown): RegistryServicePort[] {
  const list = Array.isArray(value) ? value.filter(isPlainObject) : [];
  const out: RegistryServicePort[] = [];
  for (const p of list) {
    if (typeof p.number !== 'number') continue; // schema validation reports it
    const name = typeof p.name === 'string' && p.name !== '' ? p.name : undefined;
    out.push({
      ...(name ? { name } : {}),
      port: p.number,
      protocol: parseProtocol(typeof p.protocol === 'string' ? p.protocol : undefined),
      ...(typeof p.targetPort === 'number' && p.targetPort > 0 ? { targetPort: p.targetPort } : {}),
    });
  }
  return out;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}
