/**
 * Change detection by value. The registry rebuilds a service or workload from its manifest on every
 * upsert and compares signatures, so re-applying an unchanged file (or moving an object to another line)
 * emits nothing, and only what a proxy would see counts as a change.
 */
import { describeExportTo } from './export-to.js';
import type { EndpointsByPort } from './endpoint-builder.js';
import type { RegistryPod, RegistryService, Workload } from './model.js';

export function labelsSignature(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export function workloadSignature(w: Workload): string {
  const pod = w.kind === 'Pod' ? (w as RegistryPod) : undefined;
  return JSON.stringify([
    w.kind,
    w.namespace,
    w.name,
    w.address,
    labelsSignature(w.labels),
    w.identity ?? '',
    w.ready,
    w.locality,
    w.network,
    w.weight,
    w.tlsMode,
    [...w.namedPorts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    pod ? [pod.hostname ?? '', pod.subdomain ?? '', pod.phase, pod.sidecar] : [],
  ]);
}

/** Everything about a service except where it was read from; static endpoints and flags included. */
export function serviceSignature(s: RegistryService, staticWorkloads: readonly Workload[], publishNotReadyAddresses: boolean): string {
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
    staticWorkloads.map(workloadSignature),
    publishNotReadyAddresses,
  ]);
}

/** Equal for two endpoint sets exactly when a proxy would see the same endpoints. */
export function endpointsSignature(endpoints: EndpointsByPort): string {
  const parts: string[] = [];
  for (const [port, list] of endpoints) {
    parts.push(`#${port}`);
    for (const e of list) {
      parts.push(
        [
          e.address,
          e.port,
          e.ready ? 1 : 0,
          e.serviceAccount ?? '',
          e.locality.region,
          e.locality.zone,
          e.locality.subZone,
          e.network,
          e.tlsMode,
          e.weight,
          e.hostname ?? '',
          e.workload ? `${e.workload.kind}/${e.workload.namespace}/${e.workload.name}` : '',
          labelsSignature(e.labels),
        ].join('|'),
      );
    }
  }
  return parts.join('\n');
}
