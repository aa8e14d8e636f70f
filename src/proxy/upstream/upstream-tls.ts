/**
 * The runtime half of an upstream TLS transport socket: a SecureContext built from inline or SDS
 * secrets (rebuilt when a secret changes, so new connections use the new certificate), peer SAN
 * verification with Envoy's matchers, and the ALPN list to offer.
 */
import { type PeerCertificate, type SecureContext, createSecureContext } from 'node:tls';
import { isIP } from 'node:net';
import type { Secret, SecretHandle, SecretProvider, TlsCertificateSecret, ValidationContextSecret } from '../tls/api.js';
import type { SanType, UpstreamTlsConfig } from './tls-config.js';

/** ALPN values that name an HTTP protocol; the caller's choice replaces these, the rest (istio…) stay. */
const HTTP_ALPN: ReadonlySet<string> = new Set(['h2', 'http/1.1', 'http/1.0']);

export class UpstreamTls {
  private context: SecureContext | undefined;
  private readonly certHandle?: SecretHandle<TlsCertificateSecret>;
  private readonly caHandle?: SecretHandle<ValidationContextSecret>;
  private readonly unsubscribe: (() => void)[] = [];
  readonly verifyPeer: boolean;

  constructor(readonly cfg: UpstreamTlsConfig, secrets: SecretProvider | undefined) {
    const certSds = cfg.certificate && 'sds' in cfg.certificate ? cfg.certificate.sds : undefined;
    const caSds = cfg.trustedCa && 'sds' in cfg.trustedCa ? cfg.trustedCa.sds : undefined;
    if (certSds) this.certHandle = this.watch<TlsCertificateSecret>(secrets, certSds);
    if (caSds) this.caHandle = this.watch<ValidationContextSecret>(secrets, caSds);
    this.verifyPeer = cfg.trustedCa !== undefined && !cfg.acceptUntrusted;
  }

  private watch<T extends Secret>(secrets: SecretProvider | undefined, name: string): SecretHandle<T> {
    if (!secrets) return { current: undefined, onChange: () => () => {} };
    const handle = secrets.subscribe<T>(name);
    this.unsubscribe.push(handle.onChange(() => (this.context = undefined)));
    return handle;
  }

  /** The context for a new handshake, or a reason it cannot start yet (an SDS secret not arrived). */
  secureContext(): SecureContext | string {
    if (this.context) return this.context;
    const cfg = this.cfg;
    let cert: string | undefined;
    let key: string | undefined;
    if (cfg.certificate) {
      if ('sds' in cfg.certificate) {
        const s = this.certHandle?.current;
        if (!s) return `TLS error: secret "${cfg.certificate.sds}" is not ready`;
        cert = s.certChain;
        key = s.privateKey;
      } else {
        cert = cfg.certificate.certChain;
        key = cfg.certificate.privateKey;
      }
    }
    let ca: string | undefined;
    if (cfg.trustedCa) {
      if ('sds' in cfg.trustedCa) {
        const s = this.caHandle?.current;
        if (!s) return `TLS error: secret "${cfg.trustedCa.sds}" is not ready`;
        ca = s.trustedCa;
      } else {
        ca = cfg.trustedCa.pem;
      }
    }
    try {
      this.context = createSecureContext({
        cert,
        key,
        ca,
        minVersion: cfg.minVersion ?? 'TLSv1.2',
        maxVersion: cfg.maxVersion,
        ciphers: cfg.ciphers,
        ecdhCurve: cfg.ecdhCurve,
      });
    } catch (err) {
      return `TLS error: ${(err as Error).message}`;
    }
    return this.context;
  }

  /** SNI to send: the configured one, never an IP literal (TLS forbids it). */
  serverName(): string | undefined {
    const sni = this.cfg.sni;
    return sni && !isIP(sni) ? sni : undefined;
  }

  /**
   * ALPN to offer. A caller that knows its protocol (the HTTP pool: ['h2'] or ['http/1.1']) replaces
   * the HTTP entries of the configured list, keeping Istio's own markers (istio, istio-peer-exchange)
   * so the server sidecar still sees a sidecar client. A caller that names none gets the configured
   * list without the HTTP protocol the cluster does not speak: an HTTP/1.1 cluster must not let the
   * server pick h2 (Istio offers h2 and http/1.1 on every HTTP cluster).
   */
  alpnFor(callerAlpn: readonly string[] | undefined, clusterProtocol?: 'http1' | 'http2' | 'use_downstream'): string[] | undefined {
    const configured = this.cfg.alpn;
    if (!callerAlpn || callerAlpn.length === 0) {
      let list = configured;
      if (clusterProtocol === 'http1') list = configured.filter((p) => p !== 'h2');
      else if (clusterProtocol === 'http2') list = configured.filter((p) => p !== 'http/1.1' && p !== 'http/1.0');
      return list.length ? list : undefined;
    }
    if (configured.length === 0) return [...callerAlpn];
    return [...configured.filter((p) => !HTTP_ALPN.has(p)), ...callerAlpn];
  }

  /** Checks the peer's SANs against the configured matchers; returns an error text or undefined. */
  verifySan(cert: PeerCertificate | undefined): string | undefined {
    const matchers = this.cfg.sanMatchers;
    if (matchers.length === 0) return undefined;
    const sans = parseSubjectAltNames(cert?.subjectaltname);
    for (const m of matchers) {
      for (const san of sans) {
        if ((m.type === 'ANY' || m.type === san.type) && m.matches(san.value)) return undefined;
      }
    }
    return 'TLS error: peer certificate SAN does not match (verify_san_failed)';
  }

  close(): void {
    for (const u of this.unsubscribe) u();
    this.unsubscribe.length = 0;
  }
}

const SAN_PREFIX: Record<string, SanType> = { DNS: 'DNS', URI: 'URI', 'IP Address': 'IP_ADDRESS', email: 'EMAIL' };

/** Node's `subjectaltname` text ("DNS:a, URI:spiffe://…"; values with commas come JSON-quoted). */
export function parseSubjectAltNames(text: string | undefined): { type: SanType; value: string }[] {
  if (!text) return [];
  const out: { type: SanType; value: string }[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const label = text.slice(i, colon);
    let value: string;
    let end: number;
    if (text[colon + 1] === '"') {
      // JSON string: find the closing quote that is not escaped.
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      end = j + 1;
    } else {
      const comma = text.indexOf(', ', colon);
      end = comma < 0 ? text.length : comma;
      value = text.slice(colon + 1, end);
    }
    const type = SAN_PREFIX[label];
    if (type) out.push({ type, value });
    i = end + 2;
  }
  return out;
}

export function peerUriOf(cert: PeerCertificate | undefined): string | undefined {
  for (const san of parseSubjectAltNames(cert?.subjectaltname)) if (san.type === 'URI') return san.value;
  return undefined;
}
