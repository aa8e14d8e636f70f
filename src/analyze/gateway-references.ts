/**
 * IST0101 for a VirtualService bound to a Gateway that does not exist (in `spec.gateways` or a
 * match's `gateways`): its routes would never be attached to any gateway listener.
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, childPath, resourceMessage, type AnalysisMessage } from '../config/messages.js';
import type { Analyzer } from './analyzer.js';
import { gatewayKey } from './route-destinations.js';

export const gatewayReferencesAnalyzer: Analyzer = {
  name: 'virtualservice.gateways',
  description: 'Checks that every Gateway a VirtualService names exists.',
  analyze(ctx) {
    const out: AnalysisMessage[] = [];
    for (const vs of ctx.virtualServices) {
      const ns = vs.resource.metadata.namespace ?? 'default';
      const spec = isPlainObject(vs.resource.spec) ? vs.resource.spec : {};
      const refs: Array<{ ref: unknown; path: string }> = [];
      (Array.isArray(spec.gateways) ? spec.gateways : []).forEach((ref, i) => refs.push({ ref, path: childPath('spec.gateways', i) }));
      (Array.isArray(spec.http) ? spec.http : []).forEach((route, i) => {
        if (!isPlainObject(route) || !Array.isArray(route.match)) return;
        route.match.forEach((m, j) => {
          if (isPlainObject(m) && Array.isArray(m.gateways)) m.gateways.forEach((ref, k) => refs.push({ ref, path: `spec.http[${i}].match[${j}].gateways[${k}]` }));
        });
      });
      for (const { ref, path } of refs) {
        if (typeof ref !== 'string' || ref === 'mesh') continue;
        if (!ctx.gateways.has(gatewayKey(ref, ns))) out.push(resourceMessage(vs, MessageTypes.ReferencedResourceNotFound, `Referenced gateway not found: ${JSON.stringify(ref)}`, path));
      }
    }
    return out;
  },
};
