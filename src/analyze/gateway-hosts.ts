/**
 * IST0132: a VirtualService bound to a Gateway names hosts that none of that Gateway's servers accept,
 * so those hosts are never routed at the gateway.
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, resourceMessage, type AnalysisMessage } from '../config/messages.js';
import { hostMatches } from '../registry/hostname.js';
import type { Analyzer } from './analyzer.js';
import { boundGateways, gatewayKey, vsHosts } from './route-destinations.js';

export const gatewayHostsAnalyzer: Analyzer = {
  name: 'virtualservice.gatewayhosts',
  description: 'Checks that the hosts of a gateway-bound VirtualService are accepted by the Gateway.',
  analyze(ctx) {
    const out: AnalysisMessage[] = [];
    for (const vs of ctx.virtualServices) {
      const ns = vs.resource.metadata.namespace ?? 'default';
      boundGateways(vs).forEach((ref, i) => {
        if (ref === 'mesh') return;
        const key = gatewayKey(ref, ns);
        const gw = ctx.gateways.get(key);
        if (!gw) return; // reported as IST0101
        const accepted = gatewayHosts(gw.resource.spec, ns, gw.resource.metadata.namespace ?? 'default');
        const missing = vsHosts(vs).filter((h) => !accepted.some((g) => hostMatches(g, h)));
        if (missing.length === 0) return;
        const msg = `one or more host [${missing.join(' ')}] defined in VirtualService ${ns}/${vs.resource.metadata.name} not found in Gateway ${key}.`;
        out.push(resourceMessage(vs, MessageTypes.VirtualServiceHostNotFoundInGateway, msg, `spec.gateways[${i}]`));
      });
    }
    return out;
  },
};

/** Server hosts visible to a VirtualService in `vsNamespace` (`ns/host`, `./host` and `*\/host` forms). */
function gatewayHosts(spec: unknown, vsNamespace: string, gatewayNamespace: string): string[] {
  const servers = isPlainObject(spec) && Array.isArray(spec.servers) ? spec.servers : [];
  const out: string[] = [];
  for (const server of servers) {
    if (!isPlainObject(server) || !Array.isArray(server.hosts)) continue;
    for (const h of server.hosts) {
      if (typeof h !== 'string') continue;
      const slash = h.indexOf('/');
      if (slash < 0) out.push(h);
      else {
        const scope = h.slice(0, slash);
        if (scope === '*' || scope === vsNamespace || (scope === '.' && gatewayNamespace === vsNamespace)) out.push(h.slice(slash + 1));
      }
    }
  }
  return out;
}
