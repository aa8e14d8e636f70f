/**
 * IST0104: a Gateway server on a port that the selected gateway workload does not expose: no
 * Service port or target port selecting those pods, and no container port. Traffic for that server
 * could never reach the gateway. A Warning, as in Istio (the port may be reached some other way).
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, resourceMessage, type AnalysisMessage } from '../config/messages.js';
import type { Analyzer } from './analyzer.js';
import { formatSelector, stringRecord, type AnalysisContext, type PodInfo } from './context.js';

export const gatewayPortsAnalyzer: Analyzer = {
  name: 'gateway.ports',
  description: 'Checks that every Gateway server port is exposed by the gateway workload it selects.',
  analyze(ctx) {
    const out: AnalysisMessage[] = [];
    for (const gw of ctx.gateways.values()) {
      const spec = isPlainObject(gw.resource.spec) ? gw.resource.spec : {};
      const selector = stringRecord(spec.selector);
      const pods = ctx.podsMatching(selector);
      if (pods.length === 0) continue; // IST0101 already says no pod matches
      const exposed = exposedPorts(ctx, pods);
      (Array.isArray(spec.servers) ? spec.servers : []).forEach((server, i) => {
        if (!isPlainObject(server) || !isPlainObject(server.port) || typeof server.port.number !== 'number') return;
        const port = server.port.number;
        if (exposed.has(port)) return;
        const msg = `The gateway refers to a port that is not exposed on the workload (pod selector ${formatSelector(selector)}; port ${port})`;
        out.push(resourceMessage(gw, MessageTypes.GatewayPortNotOnWorkload, msg, `spec.servers[${i}].port.number`));
      });
    }
    return out;
  },
};

/** Ports of the Services selecting any of the pods (port and numeric targetPort), plus the pods' container ports. */
function exposedPorts(ctx: AnalysisContext, pods: readonly PodInfo[]): Set<number> {
  const ports = new Set<number>();
  for (const pod of pods) {
    const spec = isPlainObject(pod.loaded.resource.spec) ? pod.loaded.resource.spec : {};
    for (const c of Array.isArray(spec.containers) ? spec.containers : []) {
      if (!isPlainObject(c) || !Array.isArray(c.ports)) continue;
      for (const p of c.ports) if (isPlainObject(p) && typeof p.containerPort === 'number') ports.add(p.containerPort);
    }
  }
  for (const svc of ctx.services.values()) {
    const selector = svc.selector;
    if (!selector || Object.keys(selector).length === 0) continue;
    const selects = pods.some((pod) => pod.namespace === svc.namespace && Object.entries(selector).every(([k, v]) => pod.labels[k] === v));
    if (!selects) continue;
    const spec = isPlainObject(svc.loaded.resource.spec) ? svc.loaded.resource.spec : {};
    for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
      if (!isPlainObject(p)) continue;
      if (typeof p.port === 'number') ports.add(p.port);
      if (typeof p.targetPort === 'number') ports.add(p.targetPort);
    }
  }
  return ports;
}
