/**
 * IST0112 for a route to a service with several ports that does not say which port: Istio cannot
 * tell which port's cluster is meant and the route is ambiguous.
 */
import { MessageTypes, resourceMessage } from '../config/messages.js';
import type { Analyzer } from './analyzer.js';
import { routeDestinations } from './route-destinations.js';

export const destinationPortsAnalyzer: Analyzer = {
  name: 'virtualservice.destinationports',
  description: 'Checks that a destination names a port when its service exposes more than one, and that a named port exists.',
  analyze(ctx) {
    const out = [];
    for (const vs of ctx.virtualServices) {
      const ns = vs.resource.metadata.namespace ?? 'default';
      for (const d of routeDestinations(vs)) {
        const fqdn = ctx.fqdn(d.host, ns);
        if (!ctx.hostExists(fqdn)) continue; // reported as IST0101
        const ports = ctx.portsOf(fqdn);
        if (d.port === undefined && ports.length > 1) {
          const msg = `This VirtualService routes to a service ${JSON.stringify(d.host)} that exposes multiple ports [${ports.join(' ')}]. Specifying a port in the destination is required to disambiguate.`;
          out.push(resourceMessage(vs, MessageTypes.VirtualServiceDestinationPortSelectorRequired, msg, d.path));
        } else if (d.port !== undefined && ports.length > 0 && !ports.includes(d.port)) {
          out.push(resourceMessage(vs, MessageTypes.ReferencedResourceNotFound, `Referenced host:port not found: ${JSON.stringify(`${d.host}:${d.port}`)}`, `${d.path}.port.number`));
        }
      }
    }
    return out;
  },
};
