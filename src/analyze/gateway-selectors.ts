/**
 * IST0101 for a Gateway whose selector matches no pod: no proxy would ever serve its servers. Gateway
 * selectors match pods in every namespace (Istio's default, PILOT_SCOPE_GATEWAY_TO_NAMESPACE off).
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, resourceMessage, type AnalysisMessage } from '../config/messages.js';
import type { Analyzer } from './analyzer.js';
import { formatSelector, stringRecord } from './context.js';

export const gatewaySelectorsAnalyzer: Analyzer = {
  name: 'gateway.selector',
  description: 'Checks that the selector of every Gateway matches at least one pod.',
  analyze(ctx) {
    const out: AnalysisMessage[] = [];
    for (const gw of ctx.gateways.values()) {
      const spec = isPlainObject(gw.resource.spec) ? gw.resource.spec : {};
      const selector = stringRecord(spec.selector);
      if (Object.keys(selector).length === 0) continue; // selects every gateway proxy
      if (ctx.podsMatching(selector).length === 0) {
        out.push(resourceMessage(gw, MessageTypes.ReferencedResourceNotFound, `Referenced selector not found: ${JSON.stringify(formatSelector(selector))}`, 'spec.selector'));
      }
    }
    return out;
  },
};
