/**
 * A filter chain's DownstreamTlsContext, compiled into a SecureContext that follows its secrets: when
 * an SDS secret rotates, the context is rebuilt and only handshakes that start afterwards use it.
 */
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import type { Duplex } from 'node:stream';
import { assertKnownFields, configError, isObject, join, optArray, optBool, optObject, optString, reqString, type JsonObject } from '../config/fields.js';
import type { Secret, SecretHandle, SecretProvider, TlsCertificateSecret, ValidationContextSecret } from './api.js';
import { compileTlsCertificate, compileValidationContext } from './secret-provider.js';
import { compileSanMatchers } from './san-matcher.js';
import type { PeerCertificate } from 'node:tls';

export const DOWNSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

type Source<T extends Secret> = { handle: SecretHandle<T> } | { value: T };

const TLS_VERSIONS: Record<string, 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' | undefined> = {
  TLS_AUTO: undefined,
  TLSv1_0: 'TLSv1',
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

function current<T extends Secret>(s: Source<T> | undefined): T | undefined {
  if (!s) return undefined;
  return 'value' in s ? s.value : s.handle.current;
}

function sdsName(json: JsonObject, path: string): string {
  assertKnownFields(json, ['name', 'sds_config'], path);
  return reqString(json, 'name', path);
}

export class DownstreamTls {
  readonly alpn: string[];
  readonly requireClientCert: boolean;
  private context: SecureContext | undefined;
  private readonly certs: Array<Source<TlsCertificateSecret>> = [];
  private validation: Source<ValidationContextSecret> | undefined;
  private extraSan: unknown[] = [];
  private sanCheck: ((c: PeerCertificate | undefined) => boolean) | undefined;
  private minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' | undefined;
  private maxVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' | undefined;
  private ciphers: string | undefined;
  private readonly unsubscribers: Array<() => void> = [];

  constructor(typed: JsonObject, secrets: SecretProvider, path: string) {
    assertKnownFields(typed, ['@type', 'common_tls_context', 'require_client_certificate', 'require_sni', 'session_timeout', 'disable_stateless_session_resumption'], path);
    this.requireClientCert = optBool(typed, 'require_client_certificate', path) ?? false;
    const common = optObject(typed, 'common_tls_context', path) ?? {};
    const cp = join(path, 'common_tls_context');
    assertKnownFields(common, ['tls_certificates', 'tls_certificate_sds_secret_configs', 'validation_context', 'validation_context_sds_secret_config', 'combined_validation_context', 'alpn_protocols', 'tls_params'], cp);
    this.alpn = optArray(common, 'alpn_protocols', cp).map((a, i) => {
      if (typeof a !== 'string') throw configError(join(join(cp, 'alpn_protocols'), i), 'must be a string');
      return a;
    });
    optArray(common, 'tls_certificates', cp).forEach((c, i) => {
      const p = join(join(cp, 'tls_certificates'), i);
      if (!isObject(c)) throw configError(p, 'must be an object');
      this.certs.push({ value: compileTlsCertificate(c, p) as TlsCertificateSecret });
    });
    optArray(common, 'tls_certificate_sds_secret_configs', cp).forEach((c, i) => {
      const p = join(join(cp, 'tls_certificate_sds_secret_configs'), i);
      if (!isObject(c)) throw configError(p, 'must be an object');
      this.certs.push({ handle: secrets.subscribe<TlsCertificateSecret>(sdsName(c, p)) });
    });
    if (this.certs.length === 0) throw configError(cp, 'a downstream TLS context needs tls_certificates or tls_certificate_sds_secret_configs');
    this.compileValidation(common, cp, secrets);
    this.compileParams(optObject(common, 'tls_params', cp), join(cp, 'tls_params'));
    for (const s of [...this.certs, ...(this.validation ? [this.validation] : [])]) {
      if ('handle' in s) this.unsubscribers.push(s.handle.onChange(() => (this.context = undefined)));
    }
  }

  private compileValidation(common: JsonObject, cp: string, secrets: SecretProvider): void {
    const inline = optObject(common, 'validation_context', cp);
    if (inline) this.validation = { value: compileValidationContext(inline, join(cp, 'validation_context')) as ValidationContextSecret };
    const sds = optObject(common, 'validation_context_sds_secret_config', cp);
    if (sds) this.validation = { handle: secrets.subscribe<ValidationContextSecret>(sdsName(sds, join(cp, 'validation_context_sds_secret_config'))) };
    const combined = optObject(common, 'combined_validation_context', cp);
    if (combined) {
      const p = join(cp, 'combined_validation_context');
      assertKnownFields(combined, ['default_validation_context', 'validation_context_sds_secret_config'], p);
      const def = optObject(combined, 'default_validation_context', p);
      const defaults = def ? (compileValidationContext(def, join(p, 'default_validation_context')) as ValidationContextSecret) : undefined;
      // Istio puts SAN matchers in the default context and the CA in the SDS one.
      this.extraSan = [...(defaults?.matchSubjectAltNames ?? [])];
      const s = optObject(combined, 'validation_context_sds_secret_config', p);
      if (s) this.validation = { handle: secrets.subscribe<ValidationContextSecret>(sdsName(s, join(p, 'validation_context_sds_secret_config'))) };
      else if (defaults) this.validation = { value: defaults };
    }
    const v = current(this.validation);
    this.sanCheck = compileSanMatchers([...this.extraSan, ...((v && 'value' in this.validation! ? v.matchSubjectAltNames : []) ?? [])], join(cp, 'validation_context.match_subject_alt_names'));
  }

  private compileParams(params: JsonObject | undefined, path: string): void {
    if (!params) return;
    assertKnownFields(params, ['tls_minimum_protocol_version', 'tls_maximum_protocol_version', 'cipher_suites', 'ecdh_curves'], path);
    const parse = (key: string): 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' | undefined => {
      const v = optString(params, key, path);
      if (v === undefined) return undefined;
      if (!(v in TLS_VERSIONS)) throw configError(join(path, key), `unsupported value ${JSON.stringify(v)}`);
      return TLS_VERSIONS[v];
    };
    this.minVersion = parse('tls_minimum_protocol_version');
    this.maxVersion = parse('tls_maximum_protocol_version');
    const suites = optArray(params, 'cipher_suites', path).filter((s): s is string => typeof s === 'string');
    if (suites.length) this.ciphers = suites.join(':');
  }

  /** Whether every secret this context needs has arrived (until then, handshakes are refused). */
  ready(): boolean {
    return this.certs.every((c) => current(c) !== undefined) && (!this.validation || current(this.validation) !== undefined);
  }

  /** The SecureContext for a new handshake, built lazily after each secret change. */
  secureContext(): SecureContext | undefined {
    if (this.context) return this.context;
    if (!this.ready()) return undefined;
    const certs = this.certs.map((c) => current(c)!);
    const ca = current(this.validation)?.trustedCa;
    this.context = createSecureContext({
      cert: certs.map((c) => c.certChain),
      key: certs.map((c) => c.privateKey),
      ca: ca ? ca : undefined,
      minVersion: this.minVersion,
      maxVersion: this.maxVersion,
      ciphers: this.ciphers,
    });
    return this.context;
  }

  /**
   * Starts the server side of a handshake on `socket` (any bytes already read must be unshifted first).
   * `offered` is the client's ALPN list when a TLS inspector read it. Envoy carries on without ALPN when
   * none of the client's protocols is ours (a sidecar offering only `istio` to an ISTIO_MUTUAL gateway
   * server); Node's server would answer with a fatal alert, so ALPN is left out for such a client.
   */
  wrap(socket: Duplex, offered?: readonly string[]): TLSSocket | undefined {
    const secureContext = this.secureContext();
    if (!secureContext) return undefined;
    const hasCa = !!current(this.validation)?.trustedCa;
    const overlap = !offered || offered.length === 0 || offered.some((p) => this.alpn.includes(p));
    return new TLSSocket(socket, {
      isServer: true,
      secureContext,
      requestCert: this.requireClientCert || hasCa,
      rejectUnauthorized: this.requireClientCert,
      ALPNProtocols: this.alpn.length && overlap ? this.alpn : undefined,
    });
  }

  /** SAN check after the handshake; true when no matcher is configured. */
  peerAllowed(cert: PeerCertificate | undefined): boolean {
    return this.sanCheck ? this.sanCheck(cert) : true;
  }

  close(): void {
    for (const u of this.unsubscribers) u();
  }
}
