/**
 * PEM bundles: splitting, parsing and naming what is wrong with them. Certificates are kept as PEM
 * text next to their parsed form because Node's `tls` and the gRPC CA service both speak PEM.
 */
import { X509Certificate } from 'node:crypto';
import { SailfinError } from '../common/errors.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n?-----END \1-----/g;

export interface PemBlock {
  label: string;
  /** The block re-emitted in canonical form (LF line ends, trailing newline). */
  pem: string;
}

/** Every PEM block in `text`, in order. */
export function splitPem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    const body = m[2].replace(/\s+/g, '');
    const lines = body.match(/.{1,64}/g) ?? [];
    out.push({ label: m[1], pem: `-----BEGIN ${m[1]}-----\n${lines.join('\n')}\n-----END ${m[1]}-----\n` });
  }
  return out;
}

/** A certificate as PEM and as Node parses it (Node's parser checks the DER fully). */
export interface ParsedCert {
  pem: string;
  cert: X509Certificate;
}

/**
 * Parses every CERTIFICATE block of a bundle. `source` names the file or Secret key for messages.
 * An empty bundle, a non-certificate block or undecodable DER is an error naming the source.
 */
export function parseCertBundle(text: string, source: string): ParsedCert[] {
  const blocks = splitPem(text);
  if (blocks.length === 0) {
    throw new SailfinError('schema', 'no PEM block found (expected "-----BEGIN CERTIFICATE-----")', { location: { file: source } });
  }
  return blocks.map((b, i) => {
    if (b.label !== 'CERTIFICATE') {
      throw new SailfinError('schema', `PEM block ${i + 1} is "${b.label}", expected "CERTIFICATE"`, { location: { file: source } });
    }
    try {
      return { pem: b.pem, cert: new X509Certificate(b.pem) };
    } catch (err) {
      throw new SailfinError('schema', `PEM block ${i + 1} is not a valid X.509 certificate (${(err as Error).message})`, {
        location: { file: source },
        cause: err,
      });
    }
  });
}

/** Exactly one certificate (extra blocks are an error, so a wrong file is noticed). */
export function parseSingleCert(text: string, source: string): ParsedCert {
  const certs = parseCertBundle(text, source);
  if (certs.length !== 1) {
    throw new SailfinError('schema', `expected exactly one certificate, found ${certs.length}`, { location: { file: source } });
  }
  return certs[0];
}

export function derToPem(der: ArrayBuffer | Uint8Array, label: string): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  return `-----BEGIN ${label}-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${label}-----\n`;
}

/** Same certificate? (compares the DER, not the text, so line-ending differences do not matter). */
export function sameCert(a: X509Certificate, b: X509Certificate): boolean {
  return a.raw.equals(b.raw);
}
