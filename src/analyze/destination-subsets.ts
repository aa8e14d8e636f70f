/**
 * IST0101 for a route to a subset no applicable DestinationRule defines for that host (looked up in the
 * route's namespace, the service's, then the root namespace, as Istio does): the route would get a
 * cluster with no endpoints and requests would fail with 503 NR/UH.
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, resourceMessage } from '../config/messages.js';
import type { Analyzer } from './analyzer.js';
import { routeDestinations } from './route-destinations.js';

export const destinationSubsetsAnalyzer: Analyzer = {
  name: 'virtualservice.destinationsubsets',
  description: 'Checks that every subset a VirtualService routes to is defined by a DestinationRule for that host.',
  analyze(ctx) {
    const out = [];
    for (const vs of ctx.virtualServices) {
      const ns = vs.resource.metadata.namespace ?? 'default';
      for (const d of routeDestinations(vs)) {
        if (!d.subset) continue;
        const fqdn = ctx.fqdn(d.host, ns);
        const defined = ctx.destinationRulesFor(fqdn, ns).some((dr) => {
          const spec = isPlainObject(dr.resource.spec) ? dr.resource.spec : {};
          return Array.isArray(spec.subsets) && spec.subsets.some((s) => isPlainObject(s) && s.name === d.subset);
        });
        if (!defined) {
          out.push(resourceMessage(vs, MessageTypes.ReferencedResourceNotFound, `Referenced host+subset in destinationrule not found: ${JSON.stringify(`${d.host}+${d.subset}`)}`, `${d.path}.subset`));
        }
      }
    }
    return out;
  },
};
