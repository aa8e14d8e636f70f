/**
 * IST0109: two or more VirtualServices bound to the mesh (sidecars) that claim the same host. Sidecars
 * use only one of them, chosen by creation time, so which routes apply is effectively undefined.
 * (Gateway-bound VirtualServices are merged by Istio and are not a conflict.)
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, childPath, resourceMessage, type AnalysisMessage } from '../config/messages.js';
import type { LoadedResource } from '../config/resource.js';
import type { Analyzer } from './analyzer.js';
import { boundGateways, vsHosts } from './route-destinations.js';

export const conflictingVirtualServicesAnalyzer: Analyzer = {
  name: 'virtualservice.conflictingmeshgatewayhosts',
  description: 'Checks that no two mesh-bound VirtualServices define the same host.',
  analyze(ctx) {
    const byHost = new Map<string, Array<{ vs: LoadedResource; index: number }>>();
    for (const vs of ctx.virtualServices) {
      if (!boundGateways(vs).includes('mesh')) continue;
      const ns = vs.resource.metadata.namespace ?? 'default';
      const spec = isPlainObject(vs.resource.spec) ? vs.resource.spec : {};
      // exportTo "." keeps a VirtualService to its own namespace, where it cannot meet one from another namespace.
      const privateTo = Array.isArray(spec.exportTo) && spec.exportTo.length === 1 && spec.exportTo[0] === '.' ? ns : '';
      const seen = new Set<string>();
      vsHosts(vs).forEach((host, index) => {
        const key = `${privateTo}|${ctx.fqdn(host, ns)}`;
        if (seen.has(key)) return;
        seen.add(key);
        const list = byHost.get(key) ?? [];
        list.push({ vs, index });
        byHost.set(key, list);
      });
    }
    const out: AnalysisMessage[] = [];
    for (const [key, list] of byHost) {
      if (list.length < 2) continue;
      const host = key.slice(key.indexOf('|') + 1);
      const names = list.map(({ vs }) => `${vs.resource.metadata.namespace}/${vs.resource.metadata.name}`).join(',');
      for (const { vs, index } of list) {
        const msg = `The VirtualServices ${names} associated with mesh gateway define the same host ${host} which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.`;
        out.push(resourceMessage(vs, MessageTypes.ConflictingMeshGatewayVirtualServiceHosts, msg, childPath('spec.hosts', index)));
      }
    }
    return out;
  },
};
