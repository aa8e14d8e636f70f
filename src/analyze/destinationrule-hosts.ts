/**
 * IST0101 for a DestinationRule whose host no Service or ServiceEntry serves: its policies and
 * subsets would apply to nothing, usually because of a typo or a short name read in the wrong namespace.
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, resourceMessage } from '../config/messages.js';
import { isWildcard } from '../registry/hostname.js';
import type { Analyzer } from './analyzer.js';

export const destinationRuleHostsAnalyzer: Analyzer = {
  name: 'destinationrule.hosts',
  description: 'Checks that the host of every DestinationRule is a known Service or ServiceEntry host.',
  analyze(ctx) {
    const out = [];
    for (const dr of ctx.destinationRules) {
      const spec = isPlainObject(dr.resource.spec) ? dr.resource.spec : {};
      if (typeof spec.host !== 'string' || spec.host === '' || isWildcard(spec.host)) continue;
      const fqdn = ctx.fqdn(spec.host, dr.resource.metadata.namespace ?? 'default');
      if (!ctx.hostExists(fqdn)) out.push(resourceMessage(dr, MessageTypes.ReferencedResourceNotFound, `Referenced host not found: ${JSON.stringify(spec.host)}`, 'spec.host'));
    }
    return out;
  },
};
