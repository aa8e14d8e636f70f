/**
 * Gateway route tables: `http.<port>` joins every plain-HTTP server on that port, `https.<port>.…` serves
 * one HTTPS server. Virtual hosts come only from VirtualServices bound to the gateway whose hosts the
 * server exposes, so any other host or path gets Envoy's 404; `httpsRedirect` answers 301.
 */
import type { JsonObject } from '../../proxy/config/fields.js';
import type { GenContext } from '../context.js';
import { exposedHosts, gatewayServers, httpsRouteName, type BoundServer } from '../listeners/gateway.js';
import { buildHttpRoutes } from './http-route.js';
import { routeTargets } from './route-configs.js';

/**
 * What Envoy's `require_tls: ALL` does for a plain-HTTP request (301 to the https:// URL), written as a
 * redirect route so it works on any proxy that has redirects, Sailfin's included.
 */
function httpsRedirectRoutes(): JsonObject[] {
  return [{ name: 'https-redirect', match: { prefix: '/' }, redirect: { https_redirect: true, response_code: 'MOVED_PERMANENTLY' } }];
}

function vhostsFor(servers: readonly BoundServer[], port: number, ctx: GenContext): JsonObject[] {
  const byDomain = new Map<string, JsonObject>();
  for (const b of servers) {
    const vsList = ctx.config.virtualServicesFor(new Set([b.gateway.key]), b.gateway.namespace);
    for (const vs of vsList) {
      for (const host of exposedHosts(b, vs)) {
        if (byDomain.has(host)) continue;
        const routes = buildHttpRoutes(vs.spec.http ?? [], {
          vsName: vs.name,
          vsNamespace: vs.namespace,
          proxy: { gateways: new Set([b.gateway.key]), labels: ctx.proxy.labels, namespace: ctx.proxy.namespace, port: b.server.port.number },
          targets: routeTargets(ctx, vs.namespace, port),
          decoratorHost: `${host}:${port}`,
        });
        const vhost: JsonObject = { name: `${host}:${port}`, domains: host === '*' ? ['*'] : [host, `${host}:*`], routes: b.server.tls?.httpsRedirect ? httpsRedirectRoutes() : routes, include_request_attempt_count: true };
        byDomain.set(host, vhost);
      }
    }
    if (b.server.tls?.httpsRedirect) {
      // Redirect even hosts no VirtualService exposes over HTTP, as the server's hosts promise HTTPS.
      for (const h of b.server.hosts) {
        const host = h.includes('/') ? h.slice(h.indexOf('/') + 1) : h;
        if (!byDomain.has(host)) byDomain.set(host, { name: `${host}:${port}`, domains: host === '*' ? ['*'] : [host, `${host}:*`], routes: httpsRedirectRoutes() });
      }
    }
  }
  // Envoy picks the most specific domain itself, but `*` must not shadow anything: put it last.
  return [...byDomain.values()].sort((a, b) => Number((a.domains as string[]).includes('*')) - Number((b.domains as string[]).includes('*')));
}

export function buildGatewayRouteConfig(name: string, ctx: GenContext): JsonObject | undefined {
  const servers = gatewayServers(ctx);
  if (name.startsWith('http.')) {
    const port = Number(name.slice(5));
    const plain = servers.filter((b) => b.server.port.number === port && !['HTTPS', 'TLS', 'TCP'].includes(b.server.port.protocol.toUpperCase()) && !(b.server.tls && b.server.tls.mode && !b.server.tls.httpsRedirect));
    return { name, virtual_hosts: vhostsFor(plain, port, ctx), validate_clusters: false };
  }
  const server = servers.find((b) => httpsRouteName(b) === name);
  if (!server) return undefined;
  return { name, virtual_hosts: vhostsFor([server], server.server.port.number, ctx), validate_clusters: false };
}
