/**
 * Whether a pod runs a sidecar, decided the way Istio's injection webhook selects pods, with one
 * deliberate difference for the local mesh: a pod in a namespace that says nothing is injected
 * (`injectByDefault`), because `sailfin up` runs every pod with its proxy unless told not to. With
 * `injectByDefault: false` the decision is Kubernetes' (only labelled namespaces or pods are injected).
 *
 * Order, first match wins:
 * 1. the pod already declares a sidecar (an `istio-proxy` container or a `sidecar.istio.io/status`
 *    annotation: a pod read from a real cluster after injection) → yes;
 * 2. `hostNetwork: true` → no (Istio never injects those);
 * 3. pod label, then annotation, `sidecar.istio.io/inject` = "false" → no;
 * 4. namespace label `istio-injection=disabled` → no (it beats a pod's "true", as the webhook's
 *    namespace selector excludes the namespace entirely);
 * 5. pod `sidecar.istio.io/inject` = "true" → yes;
 * 6. namespace `istio-injection=enabled`, or any `istio.io/rev` label → yes;
 * 7. otherwise `injectByDefault`.
 */
import type { Labels } from './labels.js';

export const INJECT_LABEL = 'sidecar.istio.io/inject';
export const NAMESPACE_INJECTION_LABEL = 'istio-injection';
export const REVISION_LABEL = 'istio.io/rev';
export const SIDECAR_STATUS_ANNOTATION = 'sidecar.istio.io/status';
export const PROXY_CONTAINER = 'istio-proxy';

export interface InjectionInputs {
  readonly podLabels: Labels;
  readonly podAnnotations: Labels;
  readonly namespaceLabels: Labels;
  readonly containerNames: readonly string[];
  readonly hostNetwork: boolean;
  readonly injectByDefault: boolean;
}

export function hasSidecar(p: InjectionInputs): boolean {
  if (p.containerNames.includes(PROXY_CONTAINER) || p.podAnnotations[SIDECAR_STATUS_ANNOTATION] !== undefined) return true;
  if (p.hostNetwork) return false;
  const podSays = (p.podLabels[INJECT_LABEL] ?? p.podAnnotations[INJECT_LABEL])?.toLowerCase();
  if (podSays === 'false') return false;
  const nsSays = p.namespaceLabels[NAMESPACE_INJECTION_LABEL];
  if (nsSays === 'disabled') return false;
  if (podSays === 'true') return true;
  if (nsSays === 'enabled' || p.namespaceLabels[REVISION_LABEL] !== undefined) return true;
  return p.injectByDefault;
}

/** Whether a change of namespace labels can change any pod's decision. */
export function injectionLabelsDiffer(a: Labels, b: Labels): boolean {
  return a[NAMESPACE_INJECTION_LABEL] !== b[NAMESPACE_INJECTION_LABEL] || a[REVISION_LABEL] !== b[REVISION_LABEL];
}
