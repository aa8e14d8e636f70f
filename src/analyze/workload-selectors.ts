/**
 * IST0127: a policy (AuthorizationPolicy, PeerAuthentication, RequestAuthentication, Sidecar) whose
 * workload selector matches no pod in its namespace, so it applies to nothing. Usually a label typo.
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, resourceMessage, type AnalysisMessage } from '../config/messages.js';
import type { Analyzer } from './analyzer.js';
import { formatSelector, stringRecord } from './context.js';

/** Where each kind keeps its selector's labels. */
const SELECTOR_FIELDS: Readonly<Record<string, { path: string; field: string; labels: string }>> = {
  AuthorizationPolicy: { path: 'spec.selector.matchLabels', field: 'selector', labels: 'matchLabels' },
  PeerAuthentication: { path: 'spec.selector.matchLabels', field: 'selector', labels: 'matchLabels' },
  RequestAuthentication: { path: 'spec.selector.matchLabels', field: 'selector', labels: 'matchLabels' },
  Sidecar: { path: 'spec.workloadSelector.labels', field: 'workloadSelector', labels: 'labels' },
};

export const workloadSelectorsAnalyzer: Analyzer = {
  name: 'policy.workloadselector',
  description: 'Checks that the workload selector of every policy and Sidecar matches at least one pod in its namespace.',
  analyze(ctx) {
    const out: AnalysisMessage[] = [];
    for (const loaded of ctx.policies) {
      const where = SELECTOR_FIELDS[loaded.resource.kind];
      const spec = isPlainObject(loaded.resource.spec) ? loaded.resource.spec : {};
      const selector = isPlainObject(spec[where.field]) ? stringRecord((spec[where.field] as Record<string, unknown>)[where.labels]) : {};
      if (Object.keys(selector).length === 0) continue; // no selector: the whole namespace
      const ns = loaded.resource.metadata.namespace ?? 'default';
      if (ctx.podsMatching(selector, ns).length > 0) continue;
      out.push(resourceMessage(loaded, MessageTypes.NoMatchingWorkloadsFound, `No matching workloads for this resource with the following labels: ${formatSelector(selector)}`, where.path));
    }
    return out;
  },
};

export const POLICY_KINDS: ReadonlySet<string> = new Set(Object.keys(SELECTOR_FIELDS));
