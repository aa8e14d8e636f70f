/**
 * IST0173: a DestinationRule subset whose labels, together with its Service's selector, match no pod.
 * Requests routed to it fail with 503 UH (no healthy upstream).
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, childPath, resourceMessage, type AnalysisMessage } from '../config/messages.js';
import type { Analyzer } from './analyzer.js';
import { stringRecord } from './context.js';

export const subsetPodsAnalyzer: Analyzer = {
  name: 'destinationrule.subsetselectpods',
  description: 'Checks that every DestinationRule subset selects at least one pod of its Service.',
  analyze(ctx) {
    const out: AnalysisMessage[] = [];
    for (const dr of ctx.destinationRules) {
      const spec = isPlainObject(dr.resource.spec) ? dr.resource.spec : {};
      if (typeof spec.host !== 'string' || !Array.isArray(spec.subsets)) continue;
      // Only Kubernetes Services have pods to select; ServiceEntry endpoints are not pods.
      const svc = ctx.services.get(ctx.fqdn(spec.host, dr.resource.metadata.namespace ?? 'default'));
      if (!svc || !svc.selector) continue;
      spec.subsets.forEach((subset, i) => {
        if (!isPlainObject(subset) || typeof subset.name !== 'string') return;
        const selector = { ...svc.selector, ...stringRecord(subset.labels) };
        if (ctx.podsMatching(selector, svc.namespace).length > 0) return;
        const msg = `The Subset ${subset.name} defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).`;
        out.push(resourceMessage(dr, MessageTypes.DestinationRuleSubsetNotSelectPods, msg, childPath('spec.subsets', i)));
      });
    }
    return out;
  },
};
