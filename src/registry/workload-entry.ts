/**
 * A WorkloadEntry (a VM or any non-Kubernetes workload) as a registry workload. The same shape is used for
 * the inline `endpoints` of a ServiceEntry, which are WorkloadEntry specs without a name of their own.
 *
 * TLS mode follows Istio: the `security.istio.io/tlsMode` label when present, else `istio` when the entry
 * names a service account (the workload has an identity, so it runs a proxy), else `disabled`.
 */
import { isPlainObject } from '../config/documents.js';
import type { ResourceSource } from '../config/resource.js';
import { stringMap } from './labels.js';
import { parseLocality } from './locality.js';
import type { Workload } from './model.js';
import { spiffeIdentity } from './options.js';

export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

export interface EntryContext {
  /** `WorkloadEntry` for the resource, `ServiceEntry` for an inline endpoint (named after its ServiceEntry). */
  readonly kind: 'WorkloadEntry' | 'ServiceEntry';
  readonly name: string;
  readonly namespace: string;
  readonly trustDomain: string;
  /** `metadata.labels` of a WorkloadEntry; `spec.labels` win over them. */
  readonly metadataLabels?: Readonly<Record<string, string>>;
  readonly origin?: ResourceSource;
}

export function workloadFromEntry(spec: unknown, ctx: EntryContext): Workload {
  const s = isPlainObject(spec) ? spec : {};
  const labels = { ...(ctx.metadataLabels ?? {}), ...stringMap(s.labels) };
  const sa = typeof s.serviceAccount === 'string' && s.serviceAccount !== '' ? s.serviceAccount : undefined;
  const labelled = labels[TLS_MODE_LABEL];
  const tlsMode = labelled !== undefined ? (labelled === 'istio' ? 'istio' : 'disabled') : sa ? 'istio' : 'disabled';
  const weight = typeof s.weight === 'number' && Number.isInteger(s.weight) && s.weight > 0 ? s.weight : 1;
  return {
    kind: ctx.kind,
    name: ctx.name,
    namespace: ctx.namespace,
    address: typeof s.address === 'string' ? s.address : '',
    labels,
    ...(sa ? { serviceAccountName: sa, identity: spiffeIdentity(ctx.trustDomain, ctx.namespace, sa) } : {}),
    ready: true,
    locality: parseLocality(typeof s.locality === 'string' ? s.locality : undefined),
    network: typeof s.network === 'string' ? s.network : '',
    weight,
    tlsMode,
    namedPorts: numberMap(s.ports),
    ...(ctx.origin ? { origin: ctx.origin } : {}),
  };
}

function numberMap(value: unknown): ReadonlyMap<string, number> {
  const out = new Map<string, number>();
  if (!isPlainObject(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'number' && Number.isInteger(v)) out.set(k, v);
  return out;
}
