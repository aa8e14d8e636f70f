/**
 * IST0145: two Gateways select the same gateway workload and declare servers on the same port with
 * overlapping hosts; the gateway proxy can serve only one of them, so the other is silently dropped.
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, resourceMessage, type AnalysisMessage } from '../config/messages.js';
import type { LoadedResource } from '../config/resource.js';
import { hostMatches } from '../registry/hostname.js';
import type { Analyzer } from './analyzer.js';
import { formatSelector, stringRecord } from './context.js';

interface ServerKey {
  gateway: LoadedResource;
  selector: string;
  port: number;
  hosts: string[];
}

export const conflictingGatewaysAnalyzer: Analyzer = {
  name: 'gateway.conflictinggateways',
  description: 'Checks that no two Gateways for the same workload use the same port with overlapping hosts.',
  analyze(ctx) {
    const servers: ServerKey[] = [];
    for (const gw of ctx.gateways.values()) {
      const spec = isPlainObject(gw.resource.spec) ? gw.resource.spec : {};
      const selector = formatSelector(stringRecord(spec.selector));
      for (const server of Array.isArray(spec.servers) ? spec.servers : []) {
        if (!isPlainObject(server) || !isPlainObject(server.port) || typeof server.port.number !== 'number') continue;
        const hosts = (Array.isArray(server.hosts) ? server.hosts : []).filter((h): h is string => typeof h === 'string').map((h) => h.slice(h.indexOf('/') + 1));
        servers.push({ gateway: gw, selector, port: server.port.number, hosts });
      }
    }
    // Only servers for the same workload and port can conflict; group first so large configs stay cheap.
    const groups = new Map<string, ServerKey[]>();
    for (const s of servers) {
      const key = `${s.selector}|${s.port}`;
      const group = groups.get(key);
      if (group) group.push(s);
      else groups.set(key, [s]);
    }
    const out: AnalysisMessage[] = [];
    const reported = new Set<string>();
    for (const a of servers) {
      const others: string[] = [];
      const overlap = new Set<string>();
      for (const b of groups.get(`${a.selector}|${a.port}`) ?? []) {
        if (a.gateway === b.gateway) continue;
        const shared = a.hosts.filter((h) => b.hosts.some((o) => hostMatches(h, o)));
        if (shared.length === 0) continue;
        const name = `${b.gateway.resource.metadata.namespace}/${b.gateway.resource.metadata.name}`;
        if (!others.includes(name)) others.push(name);
        for (const h of shared) overlap.add(h);
      }
      if (others.length === 0) continue;
      const key = `${a.gateway.resource.metadata.namespace}/${a.gateway.resource.metadata.name}|${a.port}`;
      if (reported.has(key)) continue;
      reported.add(key);
      const msg = `Conflict with gateways ${others.join(',')} (workload selector ${a.selector}, port ${a.port}, hosts ${[...overlap].join(',')}).`;
      out.push(resourceMessage(a.gateway, MessageTypes.ConflictingGateways, msg, 'spec.servers'));
    }
    return out;
  },
};
