/**
 * The signing material the mesh CA works with at any moment, whether self-signed or plugged in, and
 * the checks that make a bundle trustworthy before it is put in force: the key matches the signing
 * certificate, the certificate may sign certificates and is within its validity, and it chains up
 * to one of the roots. A bundle that passes is immutable; replacing the CA means building a new one.
 */
import type { X509Certificate } from 'node:crypto';
import { SailfinError } from '../common/errors.js';
import type { KeyMaterial } from './keys.js';
import { sameCert, type ParsedCert } from './pem.js';
import { x509 } from './x509.js';

export type CaMode = 'self-signed' | 'plugin';

export interface CaBundle {
  readonly mode: CaMode;
  /** Where it came from: a directory, `Secret ns/name`, or the state directory. */
  readonly origin: string;
  /** The certificate that signs workload certificates (ca-cert.pem; the root itself when self-signed). */
  readonly signingCert: ParsedCert;
  readonly signingKey: KeyMaterial;
  /** Certificates between the signing certificate and the root, nearest first (not the signing cert, not roots). */
  readonly intermediates: readonly ParsedCert[];
  /** Trust anchors workloads verify peers with (root-cert.pem; may hold more than one during a root change). */
  readonly roots: readonly ParsedCert[];
}

/** The roots as one PEM bundle, what ROOTCA and the last element of a CreateCertificate response carry. */
export function rootBundlePem(bundle: CaBundle): string {
  return bundle.roots.map((r) => r.pem).join('');
}

/** What to name in an error about each input (a file path or a Secret key). */
export interface BundleSources {
  signingCert: string;
  signingKey: string;
  chain: string;
  roots: string;
}

function fail(source: string, message: string): SailfinError {
  return new SailfinError('semantic', message, { location: { file: source } });
}

/**
 * Node's X509Certificate reports `ca` but not the keyUsage bits, so those come from @peculiar/x509.
 * A CA certificate without a keyUsage extension may sign (RFC 5280 only restricts when it is present).
 */
function mayCertSign(pc: ParsedCert): boolean {
  const ku = new x509.X509Certificate(pc.pem).getExtension(x509.KeyUsagesExtension);
  return !ku || (ku.usages & x509.KeyUsageFlags.keyCertSign) !== 0;
}

function checkCaCert(pc: ParsedCert, source: string, now: Date, what: string): void {
  if (!pc.cert.ca) throw fail(source, `${what} is not a CA certificate (basicConstraints CA is not true)`);
  if (!mayCertSign(pc)) throw fail(source, `${what} may not sign certificates (keyUsage lacks keyCertSign)`);
  const from = new Date(pc.cert.validFrom);
  const to = new Date(pc.cert.validTo);
  if (now.getTime() > to.getTime()) throw fail(source, `${what} expired on ${to.toISOString()}`);
  if (now.getTime() < from.getTime()) throw fail(source, `${what} is not valid before ${from.toISOString()}`);
}

/** Node leaves `subject`/`issuer` undefined for an empty name. */
function dn(name: string | undefined): string {
  return (name ?? '').replace(/\n/g, ', ');
}

function signedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  return child.checkIssued(issuer) && child.verify(issuer.publicKey);
}

/**
 * Checks a bundle and returns the intermediates actually on the path from the signing certificate
 * to a root (the chain file may repeat the signing certificate and the root, as Istio's layout does).
 */
export function verifyBundle(
  parts: { signingCert: ParsedCert; signingKey: KeyMaterial; chain: readonly ParsedCert[]; roots: readonly ParsedCert[] },
  sources: BundleSources,
  now = new Date(),
): ParsedCert[] {
  const { signingCert, signingKey, chain, roots } = parts;
  if (!signingCert.cert.checkPrivateKey(signingKey.keyObject)) {
    throw fail(sources.signingKey, `the private key does not match the certificate in ${sources.signingCert} (different public key)`);
  }
  checkCaCert(signingCert, sources.signingCert, now, 'the signing certificate');
  if (roots.length === 0) throw fail(sources.roots, 'no root certificate');
  roots.forEach((r, i) => {
    if (!r.cert.ca) throw fail(sources.roots, `certificate ${i + 1} is not a CA certificate (basicConstraints CA is not true)`);
    if (now.getTime() > new Date(r.cert.validTo).getTime()) throw fail(sources.roots, `certificate ${i + 1} expired on ${new Date(r.cert.validTo).toISOString()}`);
  });
  const candidates = chain.filter((c) => !sameCert(c.cert, signingCert.cert) && !roots.some((r) => sameCert(r.cert, c.cert)));
  const path: ParsedCert[] = [];
  let current = signingCert;
  // Bounded walk: every step must use a new certificate, so a loop in the chain file cannot spin.
  for (let step = 0; step <= candidates.length; step++) {
    if (roots.some((r) => sameCert(r.cert, current.cert) || signedBy(current.cert, r.cert))) return path;
    const next = candidates.find((c) => !path.includes(c) && signedBy(current.cert, c.cert));
    if (!next) break;
    checkCaCert(next, sources.chain, now, `intermediate "${dn(next.cert.subject)}"`);
    path.push(next);
    current = next;
  }
  throw fail(
    sources.chain,
    `the signing certificate does not chain up to ${sources.roots}: no certificate there or in ${sources.chain} issued and signed "${dn(current.cert.subject)}" (its issuer is "${dn(current.cert.issuer)}")`,
  );
}
