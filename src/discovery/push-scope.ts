/**
 * Which proxies a change of routing rules reaches (Istio's ConfigsUpdated scoping): a VirtualService
 * exported to some namespaces only matters to proxies there; an AuthorizationPolicy or
 * RequestAuthentication only to workloads of its namespace (all of them from the root namespace).
 * Anything else, or a rule bound to gateways (whose proxies may live anywhere), reaches every proxy.
 */
import type { ConfigEvent } from '../config/events.js';
import type { IstioConfig } from '../pilot/istio-config.js';

/** The namespaces whose proxies a batch of routing-only changes can affect; undefined means all proxies. */
export function affectedNamespaces(events: readonly ConfigEvent[], before: IstioConfig | undefined, rootNamespace: string): Set<string> | undefined {
  const out = new Set<string>();
  for (const e of events) {
    const r = e.resource.resource;
    const ns = r.metadata.namespace ?? 'default';
    if (r.kind === 'AuthorizationPolicy' || r.kind === 'RequestAuthentication') {
      if (ns === rootNamespace) return undefined;
      out.add(ns);
      continue;
    }
    if (r.kind !== 'VirtualService' || !before) return undefined;
    const old = before.virtualServices.find((vs) => vs.namespace === ns && vs.name === r.metadata.name)?.spec;
    for (const spec of [r.spec as { exportTo?: string[]; gateways?: string[] } | undefined, old]) {
      if (!spec) continue;
      if (spec.gateways?.some((g) => g !== 'mesh')) return undefined;
      const exportTo = spec.exportTo ?? [];
      if (exportTo.length === 0 || exportTo.includes('*')) return undefined;
      for (const to of exportTo) out.add(to === '.' ? ns : to);
    }
  }
  return out;
}
