/**
 * IST0118: a Service port whose name is not `<protocol>[-<suffix>]` and that has no `appProtocol`.
 * Istio then has to sniff the protocol, which fails for server-first protocols and loses HTTP features
 * until detection succeeds; naming the port says what it is.
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, childPath, resourceMessage, type AnalysisMessage } from '../config/messages.js';
import type { Analyzer } from './analyzer.js';

/** Protocol prefixes Istio recognises in a port name (case-insensitive). */
const PROTOCOL_PREFIXES = new Set(['http', 'http2', 'https', 'http_proxy', 'grpc', 'grpc-web', 'tcp', 'tls', 'udp', 'mongo', 'mysql', 'redis']);
/** Namespaces Istio's analyzer leaves alone: platform services are not the user's to rename. */
const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage']);

/** Istio's own Services (gateways, istiod) carry `istio: <component>`; their port names are Istio's choice. */
const ISTIO_COMPONENTS = new Set(['pilot', 'istiod', 'ingressgateway', 'egressgateway', 'eastwestgateway']);

function isIstioComponent(labels: Record<string, string> | undefined): boolean {
  return labels?.release === 'istio' || ISTIO_COMPONENTS.has(labels?.istio ?? '');
}

export function followsPortNamingConvention(name: string): boolean {
  const lower = name.toLowerCase();
  if (lower.startsWith('grpc-web')) return true;
  const dash = lower.indexOf('-');
  return PROTOCOL_PREFIXES.has(dash < 0 ? lower : lower.slice(0, dash));
}

export const portNamesAnalyzer: Analyzer = {
  name: 'service.portname',
  description: 'Checks that Service ports are named <protocol>[-<suffix>] or set appProtocol.',
  analyze(ctx) {
    const out: AnalysisMessage[] = [];
    for (const svc of ctx.services.values()) {
      if (SYSTEM_NAMESPACES.has(svc.namespace) || isIstioComponent(svc.loaded.resource.metadata.labels)) continue;
      const spec = isPlainObject(svc.loaded.resource.spec) ? svc.loaded.resource.spec : {};
      (Array.isArray(spec.ports) ? spec.ports : []).forEach((port, i) => {
        if (!isPlainObject(port) || (typeof port.appProtocol === 'string' && port.appProtocol !== '')) return;
        if (port.protocol === 'UDP' || port.protocol === 'SCTP') return; // not proxied at all
        const name = typeof port.name === 'string' ? port.name : '';
        if (followsPortNamingConvention(name)) return;
        const targetPort = port.targetPort ?? port.port;
        const msg = `Port name ${name} (port: ${String(port.port)}, targetPort: ${String(targetPort)}) doesn't follow the naming convention of Istio port.`;
        out.push(resourceMessage(svc.loaded, MessageTypes.PortNameIsNotUnderNamingConvention, msg, `${childPath('spec.ports', i)}${name ? '.name' : ''}`));
      });
    }
    return out;
  },
};
