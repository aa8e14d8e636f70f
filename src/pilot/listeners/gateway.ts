/**
 * Router mode (ingress and egress gateways): a listener per Gateway server port, bound for real on the
 * gateway pod. The Gateway owns L4-L6 (port, protocol, TLS, SNI); the VirtualServices bound to it own L7,
 * as the first seed says. HTTP servers route by Host through RDS `http.<port>`; HTTPS servers terminate TLS
 * per SNI with the credentialName certificate and route through `https.<port>.<server>.<gateway>.<ns>`;
 * PASSTHROUGH, TLS and TCP servers forward by the VirtualServices' `tls`/`tcp` routes.
 */
import type { JsonObject } from '../../proxy/config/fields.js';
import { hostMatches } from '../../registry/hostname.js';
import type { GenContext } from '../context.js';
import type { GatewaySpec, IndexedVirtualService } from '../istio-config.js';
import { BLACKHOLE_CLUSTER } from '../names.js';
import { CREDENTIAL_PREFIX } from '../secrets/credentials.js';
import { credentialSds, downstreamTlsSocket, meshRootSds, workloadCertSds } from '../secrets/tls-socket.js';
import { httpConnectionManager, reportedTcpProxy, socketAddress, tcpProxy } from './hcm.js';
import { TLS_INSPECTOR } from './listener-filters.js';
import { hcmTracing } from './tracing.js';
import { tcpRouteClusters, tlsRouteClusters } from './tcp-routes.js';

type Server = NonNullable<GatewaySpec['servers']>[number];
export interface BoundServer {
  gateway: { key: string; name: string; namespace: string };
  server: Server;
  index: number;
}

/** `ns/host` in a Gateway → the host part, and whether a VirtualService in `vsNamespace` may bind it. */
export function serverHostAllows(pattern: string, vsNamespace: string, gatewayNamespace: string): { host: string; ok: boolean } {
  const slash = pattern.indexOf('/');
  if (slash < 0) return { host: pattern, ok: true };
  const ns = pattern.slice(0, slash);
  const host = pattern.slice(slash + 1);
  return { host, ok: ns === '*' || ns === vsNamespace || (ns === '.' && vsNamespace === gatewayNamespace) };
}

export function gatewayServers(ctx: GenContext): BoundServer[] {
  const out: BoundServer[] = [];
  for (const gw of ctx.config.gatewaysFor(ctx.proxy.labels, ctx.proxy.namespace)) {
    (gw.spec.servers ?? []).forEach((server, index) => out.push({ gateway: { key: gw.key, name: gw.name, namespace: gw.namespace }, server, index }));
  }
  return out;
}

export function gatewayKeys(ctx: GenContext): Set<string> {
  return new Set(ctx.config.gatewaysFor(ctx.proxy.labels, ctx.proxy.namespace).map((g) => g.key));
}

/** VirtualService hosts a server exposes: VS bound to the server's gateway, host matching a server host. */
export function exposedHosts(b: BoundServer, vs: IndexedVirtualService): string[] {
  if (!vs.gateways.has(b.gateway.key)) return [];
  const out: string[] = [];
  for (const vsHost of vs.spec.hosts ?? []) {
    for (const pattern of b.server.hosts) {
      const { host, ok } = serverHostAllows(pattern, vs.namespace, b.gateway.namespace);
      if (!ok || !hostMatches(vsHost, host)) continue;
      // The narrower of the two names is what the virtual host answers to.
      out.push(vsHost === '*' ? host : host.startsWith('*') ? vsHost : host === '*' ? vsHost : host);
      break;
    }
  }
  return [...new Set(out)];
}

export function httpsRouteName(b: BoundServer): string {
  return `https.${b.server.port.number}.${b.server.port.name ?? b.index}.${b.gateway.name}.${b.gateway.namespace}`;
}

function protocolOf(s: Server): string {
  return s.port.protocol.toUpperCase();
}

function tlsContext(b: BoundServer, http: boolean): JsonObject {
  const tls = b.server.tls ?? {};
  const common: JsonObject = { alpn_protocols: http ? ['h2', 'http/1.1'] : [] };
  const mode = tls.mode ?? 'SIMPLE';
  if (mode === 'ISTIO_MUTUAL') {
    common.tls_certificate_sds_secret_configs = [workloadCertSds()];
    common.combined_validation_context = { default_validation_context: {}, validation_context_sds_secret_config: meshRootSds() };
  } else if (tls.credentialName) {
    common.tls_certificate_sds_secret_configs = [credentialSds(tls.credentialName)];
    if (mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL') {
      common.combined_validation_context = {
        default_validation_context: tls.subjectAltNames?.length ? { match_typed_subject_alt_names: tls.subjectAltNames.map((s) => ({ san_type: 'DNS', matcher: { exact: s } })) } : {},
        validation_context_sds_secret_config: credentialSds(tls.credentialName, true),
      };
    }
  } else if (tls.serverCertificate && tls.privateKey) {
    common.tls_certificates = [{ certificate_chain: { filename: tls.serverCertificate }, private_key: { filename: tls.privateKey } }];
    if (mode === 'MUTUAL' && tls.caCertificates) common.validation_context = { trusted_ca: { filename: tls.caCertificates } };
  }
  return downstreamTlsSocket({ require_client_certificate: mode === 'MUTUAL' || mode === 'ISTIO_MUTUAL', common_tls_context: common });
}

function sniNames(b: BoundServer): string[] {
  return b.server.hosts.map((h) => serverHostAllows(h, '', '').host).filter((h) => h !== '*');
}

function l4Chains(b: BoundServer, ctx: GenContext, port: number): JsonObject[] {
  const vsList = ctx.config.virtualServicesFor(new Set([b.gateway.key]), b.gateway.namespace);
  const passthrough = (b.server.tls?.mode ?? '') === 'PASSTHROUGH' || (b.server.tls?.mode ?? '') === 'AUTO_PASSTHROUGH' || (protocolOf(b.server) === 'TLS' && !b.server.tls?.mode);
  const chains: JsonObject[] = [];
  if (protocolOf(b.server) === 'TCP') {
    for (const vs of vsList) {
      if (!exposedHosts(b, vs).length) continue;
      const target = tcpRouteClusters(vs, port, { ...ctx, gateways: new Set([b.gateway.key]) });
      if (target) return [{ filters: reportedTcpProxy(`gateway_${port}`, target) }];
    }
    return [];
  }
  for (const vs of vsList) {
    for (const host of exposedHosts(b, vs)) {
      const target = tlsRouteClusters(vs, port, host, { ...ctx, gateways: new Set([b.gateway.key]) });
      if (!target) continue;
      const chain: JsonObject = { filter_chain_match: { server_names: [host] }, filters: reportedTcpProxy(`gateway_${port}_${host}`, target) };
      if (!passthrough) chain.transport_socket = tlsContext(b, false);
      chains.push(chain);
    }
  }
  return chains;
}

/**
 * The port the gateway pod really listens on for a server. As in Istio, a server's `port.number` is the
 * gateway Service's port (80, 443), so the listener binds that Service port's targetPort (8080, 8443) when
 * a Service selecting this gateway declares it; otherwise the number itself.
 */
export function listenPort(b: BoundServer, ctx: GenContext): number {
  if (b.server.port.targetPort) return b.server.port.targetPort;
  for (const ip of ctx.proxy.ips) {
    for (const inst of ctx.services.instancesOf(ip)) if (inst.servicePort.port === b.server.port.number) return inst.targetPort;
  }
  return b.server.port.number;
}

export function buildGatewayListeners(ctx: GenContext, skipCredentials: ReadonlySet<string>): JsonObject[] {
  const byPort = new Map<number, BoundServer[]>();
  for (const b of gatewayServers(ctx)) {
    const p = listenPort(b, ctx);
    byPort.set(p, [...(byPort.get(p) ?? []), b]);
  }
  const out: JsonObject[] = [];
  for (const [port, servers] of [...byPort].sort((a, b) => a[0] - b[0])) {
    const chains: JsonObject[] = [];
    let needsInspector = false;
    let plainHttp = false;
    for (const b of servers) {
      const proto = protocolOf(b.server);
      const mode = b.server.tls?.mode;
      const terminatesHttp = (proto === 'HTTPS' && mode !== 'PASSTHROUGH' && mode !== 'AUTO_PASSTHROUGH') || (['HTTP', 'HTTP2', 'GRPC'].includes(proto) && !!mode && mode !== 'PASSTHROUGH');
      if (terminatesHttp) {
        const cred = b.server.tls?.credentialName;
        // A server whose certificate is missing or broken stays down; the others keep working (fail closed).
        if (cred && skipCredentials.has(`${CREDENTIAL_PREFIX}${cred}`)) continue;
        needsInspector = true;
        const names = sniNames(b);
        chains.push({
          name: httpsRouteName(b),
          ...(names.length ? { filter_chain_match: { server_names: names } } : {}),
          transport_socket: tlsContext(b, true),
          filters: [httpConnectionManager({ statPrefix: `outbound_0.0.0.0_${port}`, rds: httpsRouteName(b), direction: 'gateway', tracing: hcmTracing(ctx) })],
        });
      } else if (['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB'].includes(proto)) {
        plainHttp = true;
      } else {
        const l4 = l4Chains(b, ctx, b.server.port.number);
        if (proto !== 'TCP') needsInspector = true;
        chains.push(...l4);
      }
    }
    if (plainHttp) chains.push({ name: `http.${port}`, filters: [httpConnectionManager({ statPrefix: `outbound_0.0.0.0_${port}`, rds: `http.${servers[0].server.port.number}`, direction: 'gateway', tracing: hcmTracing(ctx) })] });
    if (!chains.length) continue;
    const listener: JsonObject = { name: `0.0.0.0_${port}`, address: socketAddress('0.0.0.0', port), traffic_direction: 'OUTBOUND', filter_chains: chains };
    if (needsInspector) {
      listener.listener_filters = [TLS_INSPECTOR];
      // A ClientHello without a matching SNI is closed, never routed somewhere else.
      if (!plainHttp) listener.default_filter_chain = { name: 'no-match', filters: [tcpProxy(BLACKHOLE_CLUSTER, BLACKHOLE_CLUSTER)] };
    }
    out.push(listener);
  }
  return out;
}
