/**
 * A workload certificate in the two SDS secrets Istio's proxies use: `default` (the workload's own
 * certificate chain and key) and `ROOTCA` (the mesh roots peers are verified against). Rendered as
 * Envoy v3 Secret JSON (envoy.extensions.transport_sockets.tls.v3.Secret, snake_case as Envoy's YAML),
 * so the same objects feed the SDS server, a bootstrap file and the proxy's SecretProvider.
 */
import type { TlsCertificateSecret, ValidationContextSecret } from '../proxy/tls/api.js';
import type { WorkloadCertificate } from './workload-certificates.js';

export const SDS_DEFAULT_CERT = 'default';
export const SDS_ROOT_CA = 'ROOTCA';
export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

type Json = { [k: string]: Json } | Json[] | string | number | boolean | null;

/** Istio sends PEM as inline_bytes (base64 in JSON). */
function inlineBytes(pem: string): { inline_bytes: string } {
  return { inline_bytes: Buffer.from(pem, 'utf8').toString('base64') };
}

export function defaultCertificateSecret(cert: WorkloadCertificate, name = SDS_DEFAULT_CERT): { [k: string]: Json } {
  return { name, tls_certificate: { certificate_chain: inlineBytes(cert.certChainPem), private_key: inlineBytes(cert.keyPem) } };
}

export function rootCaSecret(rootsPem: string, name = SDS_ROOT_CA): { [k: string]: Json } {
  return { name, validation_context: { trusted_ca: inlineBytes(rootsPem) } };
}

/** Both secrets, by name, for an SDS response or a bootstrap's static secrets. */
export function workloadSdsSecrets(cert: WorkloadCertificate): Array<{ [k: string]: Json }> {
  return [defaultCertificateSecret(cert), rootCaSecret(cert.rootsPem)];
}

/** The same two secrets already compiled, for a proxy running in-process. */
export function workloadProxySecrets(cert: WorkloadCertificate): { default: TlsCertificateSecret; ROOTCA: ValidationContextSecret } {
  return {
    default: { kind: 'tls_certificate', certChain: cert.certChainPem, privateKey: cert.keyPem },
    ROOTCA: { kind: 'validation_context', trustedCa: cert.rootsPem },
  };
}
