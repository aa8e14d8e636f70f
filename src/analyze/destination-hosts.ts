/**
 * IST0101 for a VirtualService route or mirror whose destination host no Service or ServiceEntry
 * serves: Envoy would get a cluster with no endpoints and answer 503 (or, for a mirror, drop the copy).
 */
import { MessageTypes, resourceMessage } from '../config/messages.js';
import type { Analyzer } from './analyzer.js';
import { routeDestinations } from './route-destinations.js';

export const destinationHostsAnalyzer: Analyzer = {
  name: 'virtualservice.destinationhosts',
  description: 'Checks that every VirtualService destination and mirror host is a known Service or ServiceEntry host.',
  analyze(ctx) {
    const out = [];
    for (const vs of ctx.virtualServices) {
      const ns = vs.resource.metadata.namespace ?? 'default';
      for (const d of routeDestinations(vs)) {
        if (ctx.hostExists(ctx.fqdn(d.host, ns))) continue;
        const what = d.mirror ? 'mirror host' : 'host';
        out.push(resourceMessage(vs, MessageTypes.ReferencedResourceNotFound, `Referenced ${what} not found: ${JSON.stringify(d.host)}`, `${d.path}.host`));
      }
    }
    return out;
  },
};
