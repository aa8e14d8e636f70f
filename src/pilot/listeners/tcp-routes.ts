/**
 * VirtualService `tcp` and `tls` routes → the clusters a tcp_proxy forwards to. Envoy's tcp_proxy has one
 * target (or weighted targets) per filter chain, so the first route whose match applies wins, as in Istio.
 */
import { resolveShortnameToFqdn } from '../../registry/hostname.js';
import type { GenContext } from '../context.js';
import type { IndexedVirtualService } from '../istio-config.js';
import { clusterName } from '../names.js';
import { qualifyGateway } from '../routes/match.js';
import type { WeightedCluster } from './hcm.js';

type L4Route = { destination: { host: string; subset?: string; port?: { number?: number } }; weight?: number };

function labelsMatch(sel: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return !sel || Object.entries(sel).every(([k, v]) => labels[k] === v);
}

function toClusters(routes: L4Route[], vs: IndexedVirtualService, port: number, ctx: GenContext): WeightedCluster[] {
  return routes
    .map((r) => {
      const host = resolveShortnameToFqdn(r.destination.host, vs.namespace, ctx.mesh.domain);
      const svc = ctx.services.service(host);
      const p = r.destination.port?.number ?? (svc && svc.ports.length === 1 ? svc.ports[0].port : port);
      return { name: clusterName('outbound', p, r.destination.subset ?? '', host), weight: routes.length === 1 ? 100 : (r.weight ?? 0) };
    })
    .filter((c) => c.weight > 0);
}

function applies(m: Record<string, unknown> | undefined, port: number, vs: IndexedVirtualService, ctx: GenContext, sni?: string): boolean {
  if (!m) return true;
  if (typeof m.port === 'number' && m.port !== port) return false;
  if (!labelsMatch(m.sourceLabels as Record<string, string> | undefined, ctx.proxy.labels)) return false;
  if (typeof m.sourceNamespace === 'string' && m.sourceNamespace !== ctx.proxy.namespace) return false;
  const gws = m.gateways as string[] | undefined;
  if (gws?.length && !gws.some((g) => ctx.gateways.has(qualifyGateway(g, vs.namespace)))) return false;
  const sniHosts = m.sniHosts as string[] | undefined;
  if (sni !== undefined && sniHosts?.length) {
    return sniHosts.some((h) => h === sni || (h.startsWith('*') && sni.endsWith(h.slice(1))) || h === '*');
  }
  return true;
}

/** Clusters for TCP traffic on `port` under this VirtualService, or undefined when no tcp route applies. */
export function tcpRouteClusters(vs: IndexedVirtualService, port: number, ctx: GenContext): WeightedCluster[] | undefined {
  for (const route of vs.spec.tcp ?? []) {
    const matches = route.match?.length ? route.match : [undefined];
    if (matches.some((m) => applies(m, port, vs, ctx)) && route.route?.length) return toClusters(route.route, vs, port, ctx);
  }
  return undefined;
}

/** Clusters for TLS traffic with this SNI on `port`, or undefined. */
export function tlsRouteClusters(vs: IndexedVirtualService, port: number, sni: string, ctx: GenContext): WeightedCluster[] | undefined {
  for (const route of vs.spec.tls ?? []) {
    if ((route.match ?? []).some((m) => applies(m as Record<string, unknown>, port, vs, ctx, sni)) && route.route?.length) {
      return toClusters(route.route, vs, port, ctx);
    }
  }
  return undefined;
}
