/**
 * SDS for `credentialName`: Istio names a Kubernetes Secret `kubernetes://<name>` for its certificate and
 * key, and `kubernetes://<name>-cacert` for the CA that verifies clients (MUTUAL). Both the `kubernetes.io/tls`
 * layout (tls.crt, tls.key, ca.crt) and the generic one (cert, key, cacert) are read, and a separate
 * `<name>-cacert` Secret is honoured, as in Istio.
 */
import { decodeSecret } from '../../config/secret.js';
import type { LoadedResource } from '../../config/resource.js';
import type { JsonObject } from '../../proxy/config/fields.js';

export const CREDENTIAL_PREFIX = 'kubernetes://';
export const CACERT_SUFFIX = '-cacert';

export interface CredentialProblem {
  name: string;
  message: string;
}

function first(data: Map<string, Buffer>, keys: string[]): Buffer | undefined {
  for (const k of keys) if (data.has(k)) return data.get(k);
  return undefined;
}

/**
 * The Envoy Secret for an SDS name, or a problem saying why there is none. A problem means the server
 * using it must not come up with broken TLS: the caller leaves that server out (fail closed).
 */
export function credentialSecret(sdsName: string, namespace: string, secrets: readonly LoadedResource[]): { secret?: JsonObject; problem?: CredentialProblem } {
  if (!sdsName.startsWith(CREDENTIAL_PREFIX)) return { problem: { name: sdsName, message: 'not a kubernetes:// credential' } };
  let name = sdsName.slice(CREDENTIAL_PREFIX.length);
  const slash = name.indexOf('/');
  let ns = namespace;
  if (slash > 0) {
    ns = name.slice(0, slash);
    name = name.slice(slash + 1);
  }
  const find = (n: string) => secrets.find((s) => s.resource.metadata.name === n && (s.resource.metadata.namespace ?? 'default') === ns);
  const wantsCa = name.endsWith(CACERT_SUFFIX);
  if (wantsCa) {
    const own = find(name);
    const base = find(name.slice(0, -CACERT_SUFFIX.length));
    for (const s of [own, base]) {
      if (!s) continue;
      const ca = first(decodeSecret(s.resource).data, ['ca.crt', 'cacert']);
      if (ca) return { secret: { name: sdsName, validation_context: { trusted_ca: { inline_bytes: ca.toString('base64') } } } };
    }
    return { problem: { name: sdsName, message: `no CA certificate (ca.crt or cacert) in Secret ${ns}/${name.slice(0, -CACERT_SUFFIX.length)} or ${ns}/${name}` } };
  }
  const s = find(name);
  if (!s) return { problem: { name: sdsName, message: `Secret ${ns}/${name} not found` } };
  const data = decodeSecret(s.resource).data;
  const cert = first(data, ['tls.crt', 'cert']);
  const key = first(data, ['tls.key', 'key']);
  if (!cert || !key) return { problem: { name: sdsName, message: `Secret ${ns}/${name} has no certificate and key (tls.crt/tls.key or cert/key)` } };
  if (!/-----BEGIN CERTIFICATE-----/.test(cert.toString()) || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString())) {
    return { problem: { name: sdsName, message: `Secret ${ns}/${name} does not hold a PEM certificate and private key` } };
  }
  return {
    secret: {
      name: sdsName,
      tls_certificate: { certificate_chain: { inline_bytes: cert.toString('base64') }, private_key: { inline_bytes: key.toString('base64') } },
    },
  };
}
