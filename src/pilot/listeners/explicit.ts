/**
 * Listeners and routes for proxies without traffic capture (node metadata INTERCEPTION_MODE=NONE,
 * the local mesh's explicit mode). Nothing redirects connections to 15001/15006, and every pod shares
 * the host's network, so instead of the virtual listeners a sidecar gets real sockets on its own pod
 * address: an HTTP forward proxy on 15001 that apps reach through HTTP_PROXY, and one inbound
 * listener per Service target port that terminates mTLS and hands requests to the app's port.
 * Gateways keep their listeners, bound to the pod address instead of 0.0.0.0 so two gateways on one
 * host do not collide.
 */
import type { JsonObject } from '../../proxy/config/fields.js';
import type { GenContext } from '../context.js';
import { ALLOW_ANY_VHOST, BLOCK_ALL_VHOST } from '../names.js';
import { buildOutboundRouteConfig, outboundHttpPorts } from '../routes/route-configs.js';
import { httpConnectionManager, socketAddress } from './hcm.js';
import { hcmTracing } from './tracing.js';
import { INBOUND_CAPTURE_PORT } from './inbound.js';
import { TLS_INSPECTOR } from './listener-filters.js';
import { OUTBOUND_CAPTURE_PORT } from './outbound.js';

/** Where apps send their requests (HTTP_PROXY): Istio's outbound port, on the pod's own address. */
export const EXPLICIT_PROXY_PORT = OUTBOUND_CAPTURE_PORT;
export const EXPLICIT_PROXY_LISTENER = 'explicit_http_proxy';
/** One route table for the forward proxy: every outbound HTTP port's virtual hosts, told apart by Host:port. */
export const EXPLICIT_ROUTE_CONFIG = 'explicit_http_proxy';
const UNKNOWN_HOST_VHOST = 'explicit_unknown_host';

export function isExplicit(ctx: GenContext): boolean {
  return ctx.proxy.interceptionMode === 'NONE';
}

function proxyAddress(ctx: GenContext): string {
  return ctx.proxy.ips[0] ?? '127.0.0.1';
}

function forwardProxyListener(ctx: GenContext): JsonObject {
  return {
    name: EXPLICIT_PROXY_LISTENER,
    address: socketAddress(proxyAddress(ctx), EXPLICIT_PROXY_PORT),
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [httpConnectionManager({ statPrefix: `outbound_${EXPLICIT_PROXY_LISTENER}`, rds: EXPLICIT_ROUTE_CONFIG, direction: 'outbound', tracing: hcmTracing(ctx) })] }],
  };
}

/**
 * The captured-mode inbound listener split into one real listener per declared port: its filter
 * chains already match on the destination port, which is now the listener's own port. Undeclared
 * ports have no listener (there is nothing to pass through to).
 */
function inboundListeners(ctx: GenContext, virtualInbound: JsonObject): JsonObject[] {
  const chains = (virtualInbound.filter_chains as JsonObject[]) ?? [];
  const byPort = new Map<number, JsonObject[]>();
  for (const chain of chains) {
    const port = (chain.filter_chain_match as JsonObject | undefined)?.destination_port;
    if (typeof port !== 'number' || port === INBOUND_CAPTURE_PORT) continue;
    byPort.set(port, [...(byPort.get(port) ?? []), chain]);
  }
  const ip = proxyAddress(ctx);
  return [...byPort].map(([port, portChains]) => ({
    name: `${ip}_${port}`,
    address: socketAddress(ip, port),
    traffic_direction: 'INBOUND',
    listener_filters: [TLS_INSPECTOR],
    listener_filters_timeout: '5s',
    continue_on_listener_filters_timeout: true,
    filter_chains: portChains,
  }));
}

/** A sidecar's listeners in explicit mode, from what the captured-mode builders produce. */
export function explicitSidecarListeners(ctx: GenContext, virtualInbound: JsonObject): JsonObject[] {
  return [forwardProxyListener(ctx), ...inboundListeners(ctx, virtualInbound)];
}

/** Gateway listeners on the pod's address rather than every address of the (shared) host. */
export function rebindToProxyAddress(ctx: GenContext, listeners: JsonObject[]): JsonObject[] {
  const ip = proxyAddress(ctx);
  return listeners.map((l) => {
    const sa = (l.address as JsonObject | undefined)?.socket_address as JsonObject | undefined;
    if (!sa || sa.address !== '0.0.0.0' || l.bind_to_port === false) return l;
    return { ...l, address: socketAddress(ip, sa.port_value as number) };
  });
}

/**
 * Every outbound HTTP port's route table merged into one. A forward-proxy request carries its
 * port in the URI and so in Host (`reviews:9080`; none for 80), so each port keeps only the domains
 * that name it and the per-port routing (VirtualService `port` matches, retries, subsets) stays as
 * in captured mode. Unknown hosts get a 502 with a reason: there is no original destination to pass
 * through to when the app addressed the proxy itself.
 */
export function explicitRouteConfig(ctx: GenContext): JsonObject {
  const vhosts: JsonObject[] = [];
  const taken = new Set<string>();
  for (const port of outboundHttpPorts(ctx)) {
    const rc = buildOutboundRouteConfig(port, ctx);
    for (const vh of rc.virtual_hosts as JsonObject[]) {
      if (vh.name === ALLOW_ANY_VHOST || vh.name === BLOCK_ALL_VHOST) continue;
      const domains = (vh.domains as string[]).filter((d) => (port === 80 || d.endsWith(`:${port}`)) && !taken.has(d.toLowerCase()));
      if (!domains.length) continue;
      for (const d of domains) taken.add(d.toLowerCase());
      vhosts.push({ ...vh, domains });
    }
  }
  vhosts.push({
    name: UNKNOWN_HOST_VHOST,
    domains: ['*'],
    routes: [
      {
        name: UNKNOWN_HOST_VHOST,
        match: { prefix: '/' },
        direct_response: { status: 502, body: { inline_string: 'sailfin explicit mode: no service of the mesh has this host:port (pass-through is not available without capture)\n' } },
      },
    ],
  });
  return { name: EXPLICIT_ROUTE_CONFIG, virtual_hosts: vhosts, validate_clusters: false };
}

/** The app port the inbound cluster of `targetPort` forwards to (node metadata APP_PORTS, else the same port). */
export function appPortFor(ctx: GenContext, targetPort: number): number {
  return ctx.proxy.appPorts?.[targetPort] ?? targetPort;
}
