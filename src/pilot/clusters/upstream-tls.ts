/**
 * The client side of TLS for a cluster: a DestinationRule's `tls` when it has one, otherwise Istio's
 * auto mTLS (mesh certificates towards endpoints labelled `tlsMode: istio`, plaintext to the rest).
 * Certificates come over SDS: `default` (the workload's own) and `ROOTCA` for ISTIO_MUTUAL, and
 * `kubernetes://<credentialName>` for a DestinationRule's credentialName, as Istio names them.
 */
import { SailfinError } from '../../common/errors.js';
import type { JsonObject } from '../../proxy/config/fields.js';
import { credentialSds, meshRootSds, upstreamTlsSocket, workloadCertSds } from '../secrets/tls-socket.js';
import type { ClientTlsSettings } from './traffic-policy.js';

const RAW_BUFFER_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
export const ISTIO_ALPN = ['istio-peer-exchange', 'istio'];

function sanMatchers(sans: readonly string[]): JsonObject[] {
  return sans.map((san) => ({ san_type: san.startsWith('spiffe://') ? 'URI' : 'DNS', matcher: { exact: san } }));
}

/**
 * mTLS with the mesh's own certificates, verifying the server is one of the service's identities.
 * `h2` is offered only for HTTP/2 services (gRPC, http2-): an HTTP/1.1 app keeps HTTP/1.1 end to end.
 */
export function istioMutualSocket(sni: string, serverIdentities: readonly string[], http: boolean, h2 = false): JsonObject {
  const validation: JsonObject = {};
  if (serverIdentities.length) validation.match_typed_subject_alt_names = sanMatchers(serverIdentities);
  return upstreamTlsSocket({
    sni,
    common_tls_context: {
      // Istio offers its own ALPN values so the server sidecar knows the peer is a sidecar; for HTTP
      // clusters h2 and http/1.1 ride along so the app protocol is still negotiated.
      alpn_protocols: http ? [...ISTIO_ALPN, ...(h2 ? ['h2'] : []), 'http/1.1'] : ISTIO_ALPN,
      tls_certificate_sds_secret_configs: [workloadCertSds()],
      combined_validation_context: { default_validation_context: validation, validation_context_sds_secret_config: meshRootSds() },
    },
  });
}

/** A DestinationRule's own TLS settings (SIMPLE, MUTUAL, ISTIO_MUTUAL); undefined for DISABLE. */
export function destinationRuleSocket(
  tls: ClientTlsSettings,
  field: string,
  ctx: { sni: string; istioSni: string; serverIdentities: readonly string[]; http: boolean; h2?: boolean },
): JsonObject | undefined {
  switch (tls.mode ?? 'DISABLE') {
    case 'DISABLE':
      return undefined;
    case 'ISTIO_MUTUAL': {
      const s = istioMutualSocket(tls.sni ?? ctx.istioSni, tls.subjectAltNames?.length ? tls.subjectAltNames : ctx.serverIdentities, ctx.http, ctx.h2);
      return s;
    }
    case 'SIMPLE':
    case 'MUTUAL': {
      const common: JsonObject = {};
      const validation: JsonObject = {};
      if (tls.subjectAltNames?.length) validation.match_typed_subject_alt_names = sanMatchers(tls.subjectAltNames);
      if (tls.credentialName) {
        // One Secret carries the client pair and (optionally) the CA, as on gateways.
        if (tls.mode === 'MUTUAL') common.tls_certificate_sds_secret_configs = [credentialSds(tls.credentialName)];
        if (!tls.insecureSkipVerify) {
          common.combined_validation_context = {
            default_validation_context: validation,
            validation_context_sds_secret_config: credentialSds(tls.credentialName, true),
          };
        }
      } else {
        if (tls.mode === 'MUTUAL') {
          if (!tls.clientCertificate || !tls.privateKey) {
            throw new SailfinError('semantic', 'MUTUAL needs credentialName, or clientCertificate and privateKey', { field });
          }
          common.tls_certificates = [{ certificate_chain: { filename: tls.clientCertificate }, private_key: { filename: tls.privateKey } }];
        }
        if (tls.caCertificates && !tls.insecureSkipVerify) validation.trusted_ca = { filename: tls.caCertificates };
        if (Object.keys(validation).length) common.validation_context = validation;
      }
      if (ctx.http) common.alpn_protocols = ctx.h2 ? ['h2', 'http/1.1'] : ['http/1.1'];
      return upstreamTlsSocket({ sni: tls.sni ?? ctx.sni, common_tls_context: common });
    }
    default:
      throw new SailfinError('schema', `unknown tls mode "${String(tls.mode)}"`, { field: `${field}.mode` });
  }
}

/**
 * Auto mTLS: the transport socket is chosen per endpoint by its `tlsMode` metadata, so a client
 * speaks mTLS to pods with a sidecar and plaintext to those without one.
 */
export function autoMtlsSocketMatches(sni: string, serverIdentities: readonly string[], http: boolean, h2 = false): JsonObject[] {
  return [
    { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioMutualSocket(sni, serverIdentities, http, h2) },
    { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': RAW_BUFFER_TYPE } } },
  ];
}
