/**
 * Whether anything in the config in force makes a sidecar's outbound config depend on its namespace or
 * its labels. In most meshes nothing does (no Sidecar resources, everything exported everywhere), and
 * then every sidecar of the mesh can share one set of clusters, listeners and endpoints; only the route
 * tables stay per namespace (short host names are only valid in their own namespace). The checks are
 * conservative: anything not known to be namespace-free counts as namespace-dependent.
 */
import type { IstioConfig } from './istio-config.js';

export interface ScopeFacts {
  /** Some rule selects by the proxy's labels (sourceLabels, a DestinationRule workloadSelector). */
  labelSensitive: boolean;
  /** Every sidecar finds the same DestinationRule for every host, wherever it runs. */
  destinationRulesNamespaceFree: boolean;
  /** Clusters and listeners are the same in every namespace (also needs the above). */
  namespaceFree: boolean;
}

const unrestricted = (exportTo: readonly string[] | undefined) => !exportTo || exportTo.length === 0 || exportTo.includes('*');

type Match = { sourceLabels?: unknown; sourceNamespace?: unknown };

function matchesOf(config: IstioConfig): Match[] {
  const out: Match[] = [];
  for (const vs of config.virtualServices) {
    for (const routes of [vs.spec.http, vs.spec.tcp, vs.spec.tls]) {
      for (const route of routes ?? []) for (const m of (route as { match?: Match[] }).match ?? []) out.push(m);
    }
  }
  return out;
}

export function scopeFacts(config: IstioConfig, services: readonly { exportTo: ReadonlySet<string> }[]): ScopeFacts {
  const matches = matchesOf(config);
  const labelSensitive = matches.some((m) => m.sourceLabels !== undefined) || config.destinationRules.some((dr) => dr.spec.workloadSelector !== undefined);
  // A proxy looks in its own namespace first: a rule for a host outside the host's namespace, or one in
  // the root namespace that another rule shadows, resolves differently depending on where the proxy runs.
  const perHost = new Map<string, number>();
  for (const dr of config.destinationRules) perHost.set(dr.host, (perHost.get(dr.host) ?? 0) + 1);
  const destinationRulesNamespaceFree = config.destinationRules.every(
    (dr) =>
      !dr.spec.workloadSelector &&
      unrestricted(dr.spec.exportTo) &&
      !dr.host.includes('*') &&
      (dr.namespace === config.rootNamespace ? perHost.get(dr.host) === 1 : dr.host.endsWith(`.${dr.namespace}.svc.${config.domain}`)),
  );
  const namespaceFree =
    destinationRulesNamespaceFree &&
    config.sidecars.length === 0 &&
    config.virtualServices.every((vs) => unrestricted(vs.spec.exportTo)) &&
    !matches.some((m) => m.sourceNamespace !== undefined) &&
    services.every((s) => s.exportTo.has('*'));
  return { labelSensitive, destinationRulesNamespaceFree, namespaceFree };
}
