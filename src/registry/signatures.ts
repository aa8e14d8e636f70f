/**
 * Change detection by value. The registry rebuilds a service or workload from its manifest on every
 * upsert and compares signatures, so re-applying an unchanged file (or moving an object to another line)
 * emits nothing, and only what a proxy would see counts as a change.
 */
import { describeExportTo } from './export-to.js';
import type { EndpointsByPort } from './endpoint-builder.js';
import type { RegistryEndpoint, RegistryPod, RegistryService, Workload } from './model.js';

export function labelsSignature(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** Whether two builds of a workload are the same for every consumer (its origin aside). */
export function sameWorkload(a: Workload, b: Workload): boolean {
  if (
    a.kind !== b.kind ||
    a.namespace !== b.namespace ||
    a.name !== b.name ||
    a.address !== b.address ||
    a.identity !== b.identity ||
    a.ready !== b.ready ||
    a.locality.region !== b.locality.region ||
    a.locality.zone !== b.locality.zone ||
    a.locality.subZone !== b.locality.subZone ||
    a.network !== b.network ||
    a.weight !== b.weight ||
    a.tlsMode !== b.tlsMode ||
    a.namedPorts.size !== b.namedPorts.size
  ) {
    return false;
  }
  for (const [name, port] of a.namedPorts) if (b.namedPorts.get(name) !== port) return false;
  if (!sameLabelMap(a.labels, b.labels)) return false;
  if (a.kind === 'Pod') {
    const pa = a as RegistryPod;
    const pb = b as RegistryPod;
    return pa.hostname === pb.hostname && pa.subdomain === pb.subdomain && pa.phase === pb.phase && pa.sidecar === pb.sidecar;
  }
  return true;
}

function sameLabelMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/** Everything about a service a proxy sees, except its endpoints and where it was read from. */
export function serviceSignature(s: RegistryService): string {
  return JSON.stringify([
    s.hostname,
    s.namespace,
    s.name,
    s.hostnames,
    s.addresses,
    s.ports,
    s.resolution,
    s.headless,
    s.meshExternal,
    describeExportTo(s.exportTo),
    s.serviceAccounts,
    s.source,
    s.selector ? labelsSignature(s.selector) : null,
    labelsSignature(s.labels),
  ]);
}

/** Whether a proxy would see the same endpoints in `a` and `b` (ports without endpoints do not count). */
export function sameEndpoints(a: EndpointsByPort, b: EndpointsByPort): boolean {
  for (const [port, list] of a) if (!sameList(list, b.get(port) ?? NONE)) return false;
  for (const [port, list] of b) if (!a.has(port) && list.length > 0) return false;
  return true;
}

export function hasEndpoints(e: EndpointsByPort): boolean {
  for (const list of e.values()) if (list.length > 0) return true;
  return false;
}

const NONE: readonly RegistryEndpoint[] = [];

function sameList(a: readonly RegistryEndpoint[], b: readonly RegistryEndpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameEndpoint(a[i]!, b[i]!)) return false;
  return true;
}

function sameEndpoint(a: RegistryEndpoint, b: RegistryEndpoint): boolean {
  return (
    a.address === b.address &&
    a.port === b.port &&
    a.ready === b.ready &&
    a.serviceAccount === b.serviceAccount &&
    a.locality.region === b.locality.region &&
    a.locality.zone === b.locality.zone &&
    a.locality.subZone === b.locality.subZone &&
    a.network === b.network &&
    a.tlsMode === b.tlsMode &&
    a.weight === b.weight &&
    a.hostname === b.hostname &&
    a.workload?.kind === b.workload?.kind &&
    a.workload?.name === b.workload?.name &&
    a.workload?.namespace === b.workload?.namespace &&
    sameLabelMap(a.labels, b.labels)
  );
}
