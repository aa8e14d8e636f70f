/**
 * A sidecar's outbound listeners, laid out as Istio lays them out so `proxy-config listeners` reads the
 * same: `virtualOutbound` on 15001 receives every captured connection and hands it to the listener that
 * matches its original destination: `0.0.0.0_<port>` for HTTP ports (routed by Host through RDS),
 * `<vip>_<port>` for TCP services (and TLS ones with a VIP, besides their SNI chain on `0.0.0.0_<port>`),
 * `<podIP>_<port>` for headless ones; anything else takes the
 * PassthroughFilterChain (ALLOW_ANY) or the black hole (REGISTRY_ONLY).
 */
import type { JsonObject } from '../../proxy/config/fields.js';
import { isAuto, isHttp, isTls } from '../../registry/protocol.js';
import { outboundPolicy, visibleServices, type GenContext } from '../context.js';
import type { MeshService, ServicePort } from '../model.js';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, PASSTHROUGH_FILTER_CHAIN, VIRTUAL_OUTBOUND_LISTENER, clusterName } from '../names.js';
import { outboundHttpPorts } from '../routes/route-configs.js';
import { httpConnectionManager, reportedTcpProxy, socketAddress } from './hcm.js';
import { TLS_INSPECTOR } from './listener-filters.js';
import { hcmTracing } from './tracing.js';
import { tcpRouteClusters, tlsRouteClusters } from './tcp-routes.js';

export const OUTBOUND_CAPTURE_PORT = 15001;

function listener(name: string, address: string, port: number, chains: JsonObject[], extra: JsonObject = {}): JsonObject {
  return { name, address: socketAddress(address, port), bind_to_port: false, traffic_direction: 'OUTBOUND', filter_chains: chains, ...extra };
}

function virtualOutbound(ctx: GenContext): JsonObject {
  const target = outboundPolicy(ctx) === 'REGISTRY_ONLY' ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;
  return {
    name: VIRTUAL_OUTBOUND_LISTENER,
    address: socketAddress('0.0.0.0', OUTBOUND_CAPTURE_PORT),
    use_original_dst: true,
    traffic_direction: 'OUTBOUND',
    filter_chains: [],
    default_filter_chain: { name: PASSTHROUGH_FILTER_CHAIN, filters: [...reportedTcpProxy(target, target)] },
  };
}

function tcpTarget(svc: MeshService, port: ServicePort, ctx: GenContext): string | Array<{ name: string; weight: number }> {
  const vs = ctx.config.virtualServiceForHost(ctx.config.virtualServicesFor(ctx.gateways, ctx.proxy.namespace), svc.hostname);
  return (vs && tcpRouteClusters(vs, port.port, ctx)) ?? clusterName('outbound', port.port, '', svc.hostname);
}

export function buildOutboundListeners(ctx: GenContext): JsonObject[] {
  const out: JsonObject[] = [virtualOutbound(ctx)];
  const byName = new Map<string, JsonObject>();
  const add = (l: JsonObject) => {
    // Two services claiming one address:port: the first keeps it, as Istio resolves listener conflicts.
    if (!byName.has(l.name as string)) byName.set(l.name as string, l);
  };
  for (const port of outboundHttpPorts(ctx)) {
    add(listener(`0.0.0.0_${port}`, '0.0.0.0', port, [{ filters: [httpConnectionManager({ statPrefix: `outbound_0.0.0.0_${port}`, rds: String(port), direction: 'outbound', tracing: hcmTracing(ctx) })] }]));
  }
  const tlsByPort = new Map<number, JsonObject[]>();
  for (const svc of visibleServices(ctx)) {
    for (const port of svc.ports) {
      if (port.protocol === 'UDP') continue;
      const statPrefix = clusterName('outbound', port.port, '', svc.hostname);
      if (isHttp(port.protocol) || isAuto(port.protocol)) {
        if (svc.resolution === 'Passthrough') {
          // Headless: each pod IP is addressable on the declared port, with a match-all route to it.
          for (const ep of ctx.services.endpoints(svc.hostname, port.port)) {
            const route = {
              name: `${ep.address}_${port.port}`,
              virtual_hosts: [{ name: `${svc.hostname}:${port.port}`, domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: statPrefix, timeout: '0s' } }] }],
            };
            add(listener(`${ep.address}_${port.port}`, ep.address, port.port, [{ filters: [httpConnectionManager({ statPrefix: `outbound_${ep.address}_${port.port}`, routeConfig: route, direction: 'outbound', tracing: hcmTracing(ctx) })] }]));
          }
        }
        continue;
      }
      if (isTls(port.protocol) || port.protocol === 'HTTPS') {
        const vs = ctx.config.virtualServiceForHost(ctx.config.virtualServicesFor(ctx.gateways, ctx.proxy.namespace), svc.hostname);
        const target = (vs && tlsRouteClusters(vs, port.port, svc.hostname, ctx)) ?? statPrefix;
        const chains = tlsByPort.get(port.port) ?? [];
        chains.push({ filter_chain_match: { server_names: [svc.hostname] }, filters: [...reportedTcpProxy(statPrefix, target)] });
        tlsByPort.set(port.port, chains);
        // With a VIP, Istio also binds `<vip>_<port>`: a client that dials the address (no SNI, or an IP
        // literal) still reaches the service, e.g. a resolution NONE ServiceEntry under REGISTRY_ONLY.
        for (const addr of svc.addresses) add(listener(`${addr}_${port.port}`, addr, port.port, [{ filters: [...reportedTcpProxy(statPrefix, target)] }]));
        continue;
      }
      const target = tcpTarget(svc, port, ctx);
      const addresses = svc.addresses.length ? svc.addresses : svc.resolution === 'Passthrough' ? ctx.services.endpoints(svc.hostname, port.port).map((e) => e.address) : ['0.0.0.0'];
      for (const addr of addresses) add(listener(`${addr}_${port.port}`, addr, port.port, [{ filters: [...reportedTcpProxy(statPrefix, target)] }]));
    }
  }
  for (const [port, chains] of tlsByPort) {
    const passthrough = outboundPolicy(ctx) === 'REGISTRY_ONLY' ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;
    add(listener(`0.0.0.0_${port}`, '0.0.0.0', port, chains, { listener_filters: [TLS_INSPECTOR], default_filter_chain: { name: PASSTHROUGH_FILTER_CHAIN, filters: [...reportedTcpProxy(passthrough, passthrough)] } }));
  }
  out.push(...byName.values());
  return out;
}
