/**
 * A cluster's transport socket config (UpstreamTlsContext or raw_buffer) compiled into plain data:
 * certificates inline/from files or named SDS secrets, trusted CA, SAN matchers, ALPN, SNI and TLS
 * parameters. The SecureContext itself is built lazily by upstream-tls.ts once the secrets exist.
 */
import { readFileSync } from 'node:fs';
import {
  type Json,
  type JsonObject,
  assertKnownFields,
  configError,
  isObject,
  join,
  optArray,
  optBool,
  optObject,
  optString,
  reqObject,
  reqString,
  typeUrlOf,
  unsupported,
} from '../config/fields.js';
// One StringMatcher for the whole proxy: SAN checks get the same RE2 semantics as route matching.
import { type StringPredicate, compileStringMatcher } from '../http/matchers.js';

export const UPSTREAM_TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const RAW_BUFFER = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';

export type SanType = 'ANY' | 'DNS' | 'URI' | 'EMAIL' | 'IP_ADDRESS';

export interface SanMatcher {
  type: SanType;
  matches: StringPredicate;
}

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface UpstreamTlsConfig {
  kind: 'tls';
  sni?: string;
  alpn: string[];
  /** Inline (or file) client certificate, or the SDS secret that carries it. */
  certificate?: { certChain: string; privateKey: string } | { sds: string };
  /** Inline trusted CA, or SDS secret name, or none (the peer is not verified, as in Envoy). */
  trustedCa?: { pem: string } | { sds: string };
  sanMatchers: SanMatcher[];
  acceptUntrusted: boolean;
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
  ciphers?: string;
  ecdhCurve?: string;
}

export type TransportSocketConfig = { kind: 'raw' } | UpstreamTlsConfig;

const VERSIONS: Record<string, TlsVersion | undefined> = {
  TLS_AUTO: undefined,
  TLSv1_0: 'TLSv1',
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

export function compileTransportSocket(json: Json | undefined, path: string): TransportSocketConfig {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, ['name', 'typed_config'], path);
  const name = optString(json, 'name', path);
  const typed = optObject(json, 'typed_config', path);
  if (!typed) {
    if (name === 'envoy.transport_sockets.raw_buffer' || name === 'raw_buffer') return { kind: 'raw' };
    throw configError(join(path, 'typed_config'), 'required field is missing');
  }
  const tPath = join(path, 'typed_config');
  const type = typeUrlOf(typed, tPath);
  if (type === RAW_BUFFER) {
    assertKnownFields(typed, ['@type'], tPath);
    return { kind: 'raw' };
  }
  if (type !== UPSTREAM_TLS_CONTEXT) throw unsupported(join(tPath, '@type'), `unsupported transport socket "${type}"`);
  return compileUpstreamTlsContext(typed, tPath);
}

function compileUpstreamTlsContext(json: JsonObject, path: string): UpstreamTlsConfig {
  assertKnownFields(json, ['@type', 'common_tls_context', 'sni', 'allow_renegotiation', 'max_session_keys'], path);
  if (optBool(json, 'allow_renegotiation', path)) throw unsupported(join(path, 'allow_renegotiation'), 'renegotiation is not supported by Sailfin');
  const out: UpstreamTlsConfig = { kind: 'tls', sni: optString(json, 'sni', path) || undefined, alpn: [], sanMatchers: [], acceptUntrusted: false };
  const common = optObject(json, 'common_tls_context', path);
  if (!common) return out;
  const cPath = join(path, 'common_tls_context');
  assertKnownFields(
    common,
    ['tls_params', 'tls_certificates', 'tls_certificate_sds_secret_configs', 'validation_context', 'validation_context_sds_secret_config', 'combined_validation_context', 'alpn_protocols'],
    cPath,
  );
  out.alpn = optArray(common, 'alpn_protocols', cPath).map((p, i) => {
    if (typeof p !== 'string' || !p) throw configError(join(join(cPath, 'alpn_protocols'), i), 'must be a non-empty string');
    return p;
  });
  compileTlsParams(optObject(common, 'tls_params', cPath), join(cPath, 'tls_params'), out);

  const certs = optArray(common, 'tls_certificates', cPath);
  const sdsCerts = optArray(common, 'tls_certificate_sds_secret_configs', cPath);
  if (certs.length + sdsCerts.length > 1) throw unsupported(cPath, 'at most one client certificate (tls_certificates or tls_certificate_sds_secret_configs) is supported');
  if (certs.length === 1) {
    const p = join(join(cPath, 'tls_certificates'), 0);
    if (!isObject(certs[0])) throw configError(p, 'must be an object');
    assertKnownFields(certs[0], ['certificate_chain', 'private_key'], p);
    out.certificate = {
      certChain: readDataSource(reqObject(certs[0], 'certificate_chain', p), join(p, 'certificate_chain')),
      privateKey: readDataSource(reqObject(certs[0], 'private_key', p), join(p, 'private_key')),
    };
  } else if (sdsCerts.length === 1) {
    out.certificate = { sds: sdsName(sdsCerts[0], join(join(cPath, 'tls_certificate_sds_secret_configs'), 0)) };
  }

  const direct = optObject(common, 'validation_context', cPath);
  const sdsValidation = common.validation_context_sds_secret_config;
  const combined = optObject(common, 'combined_validation_context', cPath);
  if ([direct, sdsValidation, combined].filter((v) => v !== undefined && v !== null).length > 1) {
    throw configError(cPath, 'only one of validation_context, validation_context_sds_secret_config, combined_validation_context may be set');
  }
  if (direct) compileValidationContext(direct, join(cPath, 'validation_context'), out);
  if (sdsValidation !== undefined && sdsValidation !== null) out.trustedCa = { sds: sdsName(sdsValidation, join(cPath, 'validation_context_sds_secret_config')) };
  if (combined) {
    const p = join(cPath, 'combined_validation_context');
    assertKnownFields(combined, ['default_validation_context', 'validation_context_sds_secret_config'], p);
    const def = optObject(combined, 'default_validation_context', p);
    if (def) compileValidationContext(def, join(p, 'default_validation_context'), out);
    if (out.trustedCa) throw configError(join(p, 'default_validation_context.trusted_ca'), 'cannot be combined with validation_context_sds_secret_config');
    out.trustedCa = { sds: sdsName(combined.validation_context_sds_secret_config, join(p, 'validation_context_sds_secret_config')) };
  }
  return out;
}

function compileTlsParams(json: JsonObject | undefined, path: string, out: UpstreamTlsConfig): void {
  if (!json) return;
  assertKnownFields(json, ['tls_minimum_protocol_version', 'tls_maximum_protocol_version', 'cipher_suites', 'ecdh_curves'], path);
  for (const [key, field] of [['tls_minimum_protocol_version', 'minVersion'], ['tls_maximum_protocol_version', 'maxVersion']] as const) {
    const v = optString(json, key, path);
    if (v === undefined) continue;
    if (!(v in VERSIONS)) throw configError(join(path, key), `unsupported value "${v}" (one of ${Object.keys(VERSIONS).join(', ')})`);
    out[field] = VERSIONS[v];
  }
  const ciphers = optArray(json, 'cipher_suites', path).map((c, i) => {
    if (typeof c !== 'string') throw configError(join(join(path, 'cipher_suites'), i), 'must be a string');
    // Envoy writes alternatives as "[A|B]"; OpenSSL's list wants them flat.
    return c.replace(/^\[|\]$/g, '').split('|').join(':');
  });
  if (ciphers.length) out.ciphers = ciphers.join(':');
  const curves = optArray(json, 'ecdh_curves', path).map((c, i) => {
    if (typeof c !== 'string') throw configError(join(join(path, 'ecdh_curves'), i), 'must be a string');
    return c;
  });
  if (curves.length) out.ecdhCurve = curves.join(':');
}

function compileValidationContext(json: JsonObject, path: string, out: UpstreamTlsConfig): void {
  assertKnownFields(
    json,
    ['trusted_ca', 'match_subject_alt_names', 'match_typed_subject_alt_names', 'trust_chain_verification', 'allow_expired_certificate', 'verify_certificate_spki', 'verify_certificate_hash'],
    path,
  );
  for (const key of ['verify_certificate_spki', 'verify_certificate_hash']) {
    if (optArray(json, key, path).length) throw unsupported(join(path, key), `${key} is not supported by Sailfin`);
  }
  if (optBool(json, 'allow_expired_certificate', path)) throw unsupported(join(path, 'allow_expired_certificate'), 'allowing expired certificates is not supported by Sailfin');
  const trusted = optObject(json, 'trusted_ca', path);
  if (trusted) out.trustedCa = { pem: readDataSource(trusted, join(path, 'trusted_ca')) };
  const mode = optString(json, 'trust_chain_verification', path);
  if (mode !== undefined && mode !== 'VERIFY_TRUST_CHAIN' && mode !== 'ACCEPT_UNTRUSTED') {
    throw configError(join(path, 'trust_chain_verification'), `unsupported value "${mode}"`);
  }
  out.acceptUntrusted = mode === 'ACCEPT_UNTRUSTED';
  optArray(json, 'match_subject_alt_names', path).forEach((m, i) => {
    out.sanMatchers.push({ type: 'ANY', matches: compileStringMatcher(m, join(join(path, 'match_subject_alt_names'), i)) });
  });
  optArray(json, 'match_typed_subject_alt_names', path).forEach((m, i) => {
    const p = join(join(path, 'match_typed_subject_alt_names'), i);
    if (!isObject(m)) throw configError(p, 'must be an object');
    assertKnownFields(m, ['san_type', 'matcher'], p);
    const type = reqString(m, 'san_type', p);
    if (!['DNS', 'URI', 'EMAIL', 'IP_ADDRESS'].includes(type)) throw unsupported(join(p, 'san_type'), `unsupported value "${type}" (DNS, URI, EMAIL, IP_ADDRESS)`);
    out.sanMatchers.push({ type: type as SanType, matches: compileStringMatcher(m.matcher, join(p, 'matcher')) });
  });
}

function sdsName(json: Json | undefined, path: string): string {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, ['name', 'sds_config'], path);
  return reqString(json, 'name', path);
}

/** An Envoy DataSource: filename, inline_string, inline_bytes (base64) or environment_variable. */
export function readDataSource(json: JsonObject, path: string): string {
  assertKnownFields(json, ['filename', 'inline_string', 'inline_bytes', 'environment_variable'], path);
  const keys = Object.keys(json);
  if (keys.length !== 1) throw configError(path, 'needs exactly one of filename, inline_string, inline_bytes, environment_variable');
  const key = keys[0];
  const value = reqString(json, key, path);
  switch (key) {
    case 'filename':
      try {
        return readFileSync(value, 'utf8');
      } catch (err) {
        throw configError(join(path, 'filename'), `cannot read ${value}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    case 'inline_bytes':
      return Buffer.from(value, 'base64').toString('utf8');
    case 'environment_variable': {
      const env = process.env[value];
      if (env === undefined) throw configError(join(path, 'environment_variable'), `environment variable ${value} is not set`);
      return env;
    }
    default:
      return value;
  }
}
