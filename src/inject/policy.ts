/**
 * Whether a pod gets a sidecar, by Istio's rules, in two steps as in Istio:
 * 1. selection, which in a cluster the MutatingWebhookConfiguration's selectors do before the webhook
 *    is called (namespace `istio-injection=enabled|disabled`, namespace or pod `istio.io/rev`, pod
 *    label `sidecar.istio.io/inject=true` in an unlabelled namespace); checked here only when the
 *    namespace's labels are known, so `sailfin inject` (like `istioctl kube-inject`) skips it;
 * 2. the injector's own check: never kube-system/kube-public, never hostNetwork pods, never twice;
 *    then `sidecar.istio.io/inject` (the label, else the legacy annotation) if the pod says it, else
 *    `neverInjectSelector`, then `alwaysInjectSelector`, then the policy.
 */
import { INJECT_LABEL, NAMESPACE_INJECTION_LABEL, PROXY_CONTAINER, REVISION_LABEL, STATUS_ANNOTATION, type Pod } from './pod.js';
import { isEmptySelector, matchesLabelSelector, type LabelSelector } from './label-selector.js';
import type { InjectValues } from './values.js';

export const IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public'];

export interface InjectionDecision {
  inject: boolean;
  /** Why, in words a user reading `sailfin inject` output or webhook logs can act on. */
  reason: string;
}

const no = (reason: string): InjectionDecision => ({ inject: false, reason });

/** Selection by the webhook configuration's namespace and object selectors (Istio's default set). */
export function selectedByWebhook(pod: Pod, namespaceLabels: Record<string, string>, revision: string): InjectionDecision {
  const labels = pod.metadata?.labels ?? {};
  const podInject = labels[INJECT_LABEL];
  const nsInjection = namespaceLabels[NAMESPACE_INJECTION_LABEL];
  const nsRev = namespaceLabels[REVISION_LABEL];
  const podRev = labels[REVISION_LABEL];
  const isOurs = (rev: string) => rev === revision;
  if (nsInjection === 'disabled') return no('namespace has istio-injection=disabled');
  if (nsInjection === 'enabled') {
    // istio-injection=enabled always means the default revision, and wins over istio.io/rev.
    if (revision !== 'default') return no(`namespace has istio-injection=enabled, which selects the default revision, not "${revision}"`);
    if (podInject === 'false') return no('pod has label sidecar.istio.io/inject=false');
    return { inject: true, reason: 'namespace has istio-injection=enabled' };
  }
  if (nsRev !== undefined) {
    if (!isOurs(nsRev)) return no(`namespace has istio.io/rev=${nsRev}, not this revision (${revision})`);
    if (podInject === 'false') return no('pod has label sidecar.istio.io/inject=false');
    return { inject: true, reason: `namespace has istio.io/rev=${nsRev}` };
  }
  if (podRev !== undefined) {
    if (!isOurs(podRev)) return no(`pod has istio.io/rev=${podRev}, not this revision (${revision})`);
    if (podInject === 'false') return no('pod has label sidecar.istio.io/inject=false');
    return { inject: true, reason: `pod has istio.io/rev=${podRev}` };
  }
  if (podInject === 'true') {
    if (revision !== 'default') return no(`sidecar.istio.io/inject=true selects the default revision, not "${revision}"`);
    return { inject: true, reason: 'pod has label sidecar.istio.io/inject=true' };
  }
  return no('neither the namespace (istio-injection / istio.io/rev) nor the pod (sidecar.istio.io/inject=true / istio.io/rev) asks for injection');
}

/** Index of the first non-empty selector matching `labels`, or -1 (Istio skips empty selectors). */
function firstMatch(selectors: readonly LabelSelector[] | undefined, labels: Record<string, string>): number {
  return (selectors ?? []).findIndex((s) => !isEmptySelector(s) && matchesLabelSelector(s, labels));
}

/** Istio reads y/yes/true/on as yes, empty as "use the policy", anything else as no. */
function parseInjectValue(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v === '') return undefined;
  return v === 'y' || v === 'yes' || v === 'true' || v === 'on';
}

export function alreadyInjected(pod: Pod): boolean {
  return pod.metadata?.annotations?.[STATUS_ANNOTATION] !== undefined || (pod.spec?.containers ?? []).some((c) => c.name === PROXY_CONTAINER);
}

/** The injector's own check (Istio's injectRequired), after selection. */
export function injectRequired(pod: Pod, namespace: string, values: Pick<InjectValues, 'policy' | 'neverInjectSelector' | 'alwaysInjectSelector'>): InjectionDecision {
  if (IGNORED_NAMESPACES.includes(namespace)) return no(`pods in ${namespace} are never injected`);
  if (pod.spec?.hostNetwork === true) return no('pod uses the host network (hostNetwork: true)');
  if (alreadyInjected(pod)) return no(`pod is already injected (${STATUS_ANNOTATION} or an ${PROXY_CONTAINER} container)`);
  const label = pod.metadata?.labels?.[INJECT_LABEL];
  const annotation = pod.metadata?.annotations?.[INJECT_LABEL];
  const from = label !== undefined ? 'label' : 'annotation';
  const explicit = parseInjectValue(label ?? annotation);
  if (explicit === false) return no(`pod has ${from} sidecar.istio.io/inject=${label ?? annotation}`);
  if (explicit === true) return { inject: true, reason: `pod has ${from} sidecar.istio.io/inject=${label ?? annotation}` };
  // Only a pod that says nothing itself is looked at by the selectors, never before always.
  const labels = pod.metadata?.labels ?? {};
  const never = firstMatch(values.neverInjectSelector, labels);
  if (never >= 0) return no(`pod labels match neverInjectSelector[${never}]`);
  const always = firstMatch(values.alwaysInjectSelector, labels);
  if (always >= 0) return { inject: true, reason: `pod labels match alwaysInjectSelector[${always}]` };
  if (values.policy === 'disabled') return no('injection policy is disabled and the pod does not ask for it');
  return { inject: true, reason: 'injection policy is enabled' };
}

/** Both steps; `namespaceLabels` undefined skips selection (the API server already did it, or offline). */
export function injectionDecision(pod: Pod, namespace: string, values: Pick<InjectValues, 'policy' | 'revision' | 'neverInjectSelector' | 'alwaysInjectSelector'>, namespaceLabels?: Record<string, string>): InjectionDecision {
  const required = injectRequired(pod, namespace, values);
  if (!required.inject || namespaceLabels === undefined) return required;
  return selectedByWebhook(pod, namespaceLabels, values.revision);
}
