/**
 * A sidecar's inbound side: `virtualInbound` on 15006 gets every connection captured on its way into
 * the pod, with a filter chain per port a Service declares for this workload, the way the second seed
 * describes: terminate mTLS as PeerAuthentication says (STRICT: mTLS only; PERMISSIVE: mTLS or plaintext,
 * told apart by the TLS inspector; DISABLE: plaintext), then hand the request to the app on localhost.
 * Ports no Service declares pass through only under the namespace's mode.
 */
import type { JsonObject } from '../../proxy/config/fields.js';
import { isAuto, isHttp, isHttp2Family } from '../../registry/protocol.js';
import type { GenContext } from '../context.js';
import type { WorkloadInstance } from '../model.js';
import { INBOUND_PASSTHROUGH_CLUSTER, VIRTUAL_INBOUND_LISTENER, clusterName } from '../names.js';
import { ISTIO_ALPN } from '../clusters/upstream-tls.js';
import { downstreamTlsSocket, meshRootSds, workloadCertSds } from '../secrets/tls-socket.js';
import { mtlsModeFor, type MtlsMode } from '../security/peer-authentication.js';
import { policiesFor, rbacFilters } from '../security/authorization.js';
import { jwtAuthnFilter, requestAuthenticationsFor } from '../security/request-authentication.js';
import { httpConnectionManager, reportedTcpProxy, socketAddress } from './hcm.js';
import { ORIGINAL_DST, TLS_INSPECTOR } from './listener-filters.js';
import { hcmTracing } from './tracing.js';

export const INBOUND_CAPTURE_PORT = 15006;

/** The server side of mesh mTLS: the workload's certificate, client certificates from the mesh root required. */
export function inboundMtlsSocket(http: boolean): JsonObject {
  return downstreamTlsSocket({
    require_client_certificate: true,
    common_tls_context: {
      alpn_protocols: http ? ['h2', 'http/1.1'] : [],
      tls_certificate_sds_secret_configs: [workloadCertSds()],
      combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: meshRootSds() },
    },
  });
}

/** RequestAuthentication's jwt_authn goes before RBAC so that policies can read request.auth.*. */
function jwtFilters(ctx: GenContext): JsonObject[] {
  const jwt = jwtAuthnFilter(requestAuthenticationsFor(ctx.config.requestAuthentications, ctx.mesh.rootNamespace, ctx.proxy.namespace, ctx.proxy.labels));
  return jwt ? [jwt] : [];
}

function appFilters(inst: WorkloadInstance, ctx: GenContext): JsonObject[] {
  const policies = policiesFor(ctx.config.authorizationPolicies, ctx.mesh.rootNamespace, ctx.proxy.namespace, ctx.proxy.labels);
  const cluster = clusterName('inbound', inst.targetPort, '', '');
  const p = inst.servicePort.protocol;
  if (isHttp(p) || isAuto(p)) {
    const routeConfig = {
      name: cluster,
      virtual_hosts: [
        {
          name: `inbound|http|${inst.servicePort.port}`,
          domains: ['*'],
          routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: '0s' }, decorator: { operation: `${inst.service.hostname}:${inst.servicePort.port}/*` } }],
        },
      ],
    };
    return [httpConnectionManager({ statPrefix: `inbound_0.0.0.0_${inst.targetPort}`, routeConfig, direction: 'inbound', tracing: hcmTracing(ctx), extraFilters: [...jwtFilters(ctx), ...rbacFilters(policies, 'http')] })];
  }
  return [...rbacFilters(policies, 'tcp'), ...reportedTcpProxy(cluster, cluster)];
}

function chainsFor(port: number, mode: MtlsMode, filters: JsonObject[], http: boolean, name: string, tcpRbac: JsonObject[]): JsonObject[] {
  const chains: JsonObject[] = [];
  if (mode !== 'DISABLE') {
    chains.push({
      name,
      filter_chain_match: { destination_port: port, transport_protocol: 'tls', application_protocols: ISTIO_ALPN },
      transport_socket: inboundMtlsSocket(http),
      filters,
    });
  }
  if (mode !== 'STRICT') chains.push({ name, filter_chain_match: { destination_port: port, transport_protocol: 'raw_buffer' }, filters });
  if (mode !== 'STRICT') {
    // TLS that is not the mesh's (the app's own HTTPS) goes to the app untouched.
    chains.push({ name, filter_chain_match: { destination_port: port, transport_protocol: 'tls' }, filters: [...tcpRbac, ...reportedTcpProxy(clusterName('inbound', port, '', ''), clusterName('inbound', port, '', ''))] });
  }
  return chains;
}

export function buildInboundListener(ctx: GenContext, instances: readonly WorkloadInstance[]): JsonObject {
  const chains: JsonObject[] = [];
  const seen = new Set<number>();
  const policies = ctx.config.peerAuthentications;
  const tcpRbac = rbacFilters(policiesFor(ctx.config.authorizationPolicies, ctx.mesh.rootNamespace, ctx.proxy.namespace, ctx.proxy.labels), 'tcp');
  for (const inst of instances) {
    if (seen.has(inst.targetPort)) continue;
    seen.add(inst.targetPort);
    const mode = mtlsModeFor(policies, ctx.mesh.rootNamespace, ctx.proxy.namespace, ctx.proxy.labels, inst.targetPort);
    const http = isHttp(inst.servicePort.protocol) || isAuto(inst.servicePort.protocol);
    chains.push(...chainsFor(inst.targetPort, mode, appFilters(inst, ctx), http, `0.0.0.0_${inst.targetPort}`, tcpRbac));
  }
  const nsMode = mtlsModeFor(policies, ctx.mesh.rootNamespace, ctx.proxy.namespace, ctx.proxy.labels);
  const passthrough = [...tcpRbac, ...reportedTcpProxy(INBOUND_PASSTHROUGH_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER)];
  if (nsMode !== 'DISABLE') {
    chains.push({ name: 'virtualInbound-mtls', filter_chain_match: { transport_protocol: 'tls', application_protocols: ISTIO_ALPN }, transport_socket: inboundMtlsSocket(false), filters: passthrough });
  }
  const listener: JsonObject = {
    name: VIRTUAL_INBOUND_LISTENER,
    address: socketAddress('0.0.0.0', INBOUND_CAPTURE_PORT),
    traffic_direction: 'INBOUND',
    listener_filters: [ORIGINAL_DST, TLS_INSPECTOR],
    listener_filters_timeout: '5s',
    continue_on_listener_filters_timeout: true,
    filter_chains: chains,
  };
  // Plaintext to an undeclared port reaches the app only where plaintext is accepted at all.
  if (nsMode !== 'STRICT') listener.default_filter_chain = { name: 'virtualInbound-passthrough', filters: passthrough };
  return listener;
}

export function inboundHttp2(inst: WorkloadInstance): boolean {
  return isHttp2Family(inst.servicePort.protocol);
}
