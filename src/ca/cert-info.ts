/**
 * A human-readable summary of a certificate chain and its roots, for `sailfin proxy-config secrets`
 * and logs: identity, serial, validity and issuer of each certificate, and which root it chains to.
 */
import type { X509Certificate } from 'node:crypto';
import { parseCertBundle } from './pem.js';
import { spiffeUrisFromSubjectAltName } from './spiffe.js';

export interface CertSummary {
  subject: string;
  issuer: string;
  /** SPIFFE URIs in the SAN (one for a workload certificate). */
  spiffeIds: string[];
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  isCa: boolean;
  fingerprint256: string;
}

export interface ChainSummary {
  chain: CertSummary[];
  roots: CertSummary[];
  /** Whether the chain's last certificate is signed by one of the roots (or is one). */
  chainsToRoot: boolean;
  /** Seconds until the leaf expires (negative when expired). */
  expiresInSeconds?: number;
}

const oneLine = (dn: string | undefined) => (dn ?? '').replace(/\n/g, ', ');

export function summarizeCert(cert: X509Certificate): CertSummary {
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    spiffeIds: spiffeUrisFromSubjectAltName(cert.subjectAltName),
    serialNumber: cert.serialNumber,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    isCa: cert.ca,
    fingerprint256: cert.fingerprint256,
  };
}

export function summarizeChain(certChainPem: string, rootsPem: string, now = Date.now()): ChainSummary {
  const chain = certChainPem.trim() ? parseCertBundle(certChainPem, 'certificate chain') : [];
  const roots = rootsPem.trim() ? parseCertBundle(rootsPem, 'root bundle') : [];
  const last = chain[chain.length - 1]?.cert;
  const chainsToRoot =
    !!last && roots.some((r) => r.cert.raw.equals(last.raw) || (last.checkIssued(r.cert) && last.verify(r.cert.publicKey)));
  const leaf = chain[0]?.cert;
  return {
    chain: chain.map((c) => summarizeCert(c.cert)),
    roots: roots.map((r) => summarizeCert(r.cert)),
    chainsToRoot,
    ...(leaf ? { expiresInSeconds: Math.floor((new Date(leaf.validTo).getTime() - now) / 1000) } : {}),
  };
}

export interface SecretRow {
  /** SDS name: `default`, `ROOTCA`, or a gateway credential. */
  name: string;
  certChainPem?: string;
  trustedCaPem?: string;
}

/**
 * The table `istioctl proxy-config secret` prints: one row per certificate (the chain's leaf, each
 * root), with whether it is valid now. Column names are Istio's so scripts and habits carry over.
 */
export function formatSecretsTable(rows: readonly SecretRow[], now = Date.now()): string {
  const header = ['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'];
  const lines: string[][] = [header];
  const row = (name: string, type: string, c: CertSummary) => {
    const valid = Date.parse(c.notBefore) <= now && now < Date.parse(c.notAfter);
    lines.push([name, type, 'ACTIVE', String(valid), c.serialNumber.toLowerCase(), c.notAfter, c.notBefore]);
  };
  for (const r of rows) {
    if (r.certChainPem) {
      const leaf = summarizeChain(r.certChainPem, '', now).chain[0];
      if (leaf) row(r.name, 'Cert Chain', leaf);
    }
    if (r.trustedCaPem) for (const root of summarizeChain('', r.trustedCaPem, now).roots) row(r.name, 'CA', root);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((cell, i) => (i === l.length - 1 ? cell : cell.padEnd(widths[i]))).join('   ')).join('\n') + '\n';
}
