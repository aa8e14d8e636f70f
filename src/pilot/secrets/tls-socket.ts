/**
 * The TLS transport sockets the generator writes. Certificates are named, never inlined: each is an
 * SDS secret the proxy fetches on its ADS stream, by Istio's names (`default` and `ROOTCA` for the
 * mesh's own certificates, as the SDS server serves them; `kubernetes://<credentialName>[-cacert]`
 * for a Secret, see credentials.ts).
 */
import { SDS_DEFAULT_CERT, SDS_ROOT_CA } from '../../ca/sds-secrets.js';
import type { JsonObject } from '../../proxy/config/fields.js';
import { CACERT_SUFFIX, CREDENTIAL_PREFIX } from './credentials.js';

const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
const UPSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const DOWNSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

/** An SDS secret delivered over the proxy's ADS stream. */
export function sdsSecret(name: string): JsonObject {
  return { name, sds_config: { ads: {}, resource_api_version: 'V3' } };
}

/** The workload's own certificate. */
export function workloadCertSds(): JsonObject {
  return sdsSecret(SDS_DEFAULT_CERT);
}

/** The mesh root peers are verified against. */
export function meshRootSds(): JsonObject {
  return sdsSecret(SDS_ROOT_CA);
}

/** A credentialName's certificate and key, and (for MUTUAL) its CA certificate. */
export function credentialSds(credentialName: string, cacert = false): JsonObject {
  return sdsSecret(`${CREDENTIAL_PREFIX}${credentialName}${cacert ? CACERT_SUFFIX : ''}`);
}

/** The client side: a cluster's transport socket. */
export function upstreamTlsSocket(context: JsonObject): JsonObject {
  return { name: TLS_TRANSPORT_SOCKET, typed_config: { '@type': UPSTREAM_TLS_TYPE, ...context } };
}

/** The server side: a listener filter chain's transport socket. */
export function downstreamTlsSocket(context: JsonObject): JsonObject {
  return { name: TLS_TRANSPORT_SOCKET, typed_config: { '@type': DOWNSTREAM_TLS_TYPE, ...context } };
}
