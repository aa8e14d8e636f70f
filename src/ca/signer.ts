/**
 * Turns a workload's CSR into a certificate for the identity the caller proved, the way Istio's CA
 * does: the CSR only contributes its public key (after its self-signature is checked), the only
 * name in the certificate is the caller's SPIFFE URI, and the lifetime is the requested one capped
 * by the maximum. The key pair never comes near the CA.
 */
import { createPublicKey } from 'node:crypto';
import { SailfinError } from '../common/errors.js';
import { rootBundlePem, type CaBundle } from './ca-bundle.js';
import { generateKey, type KeyMaterial } from './keys.js';
import { randomSerial } from './root-ca.js';
import { spiffeUri, type WorkloadIdentity } from './spiffe.js';
import { x509 } from './x509.js';

export const DEFAULT_WORKLOAD_CERT_TTL_MS = 24 * 3600 * 1000;
/** Istio's default cap on requested workload certificate lifetimes (90 days). */
export const DEFAULT_MAX_WORKLOAD_CERT_TTL_MS = 90 * 24 * 3600 * 1000;
const MIN_RSA_BITS = 2048;
const SUBJECT_ALT_NAME_OID = '2.5.29.17';
const ACCEPTED_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

export interface TtlPolicy {
  defaultTtlMs: number;
  maxTtlMs: number;
}

export const DEFAULT_TTL_POLICY: TtlPolicy = { defaultTtlMs: DEFAULT_WORKLOAD_CERT_TTL_MS, maxTtlMs: DEFAULT_MAX_WORKLOAD_CERT_TTL_MS };

export interface SignRequest {
  csrPem: string;
  /** The identity the caller proved (mTLS peer or bootstrap token), never one taken from the CSR. */
  identity: WorkloadIdentity;
  /** Requested lifetime; 0 or absent means the default. */
  ttlMs?: number;
  /** Start of validity; defaults to now. Only tests and clock-skew handling move it. */
  notBefore?: Date;
}

export interface IssuedCertificate {
  spiffeId: string;
  certPem: string;
  /** Istio's response order: the leaf, then the intermediates, then the root bundle last. */
  certChain: string[];
  notBefore: Date;
  notAfter: Date;
}

function refused(message: string): SailfinError {
  return new SailfinError('semantic', message, { field: 'csr' });
}

async function parseCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw refused(`not a PEM-encoded PKCS#10 certificate request (${(err as Error).message})`);
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch {
    valid = false;
  }
  if (!valid) throw refused('the CSR signature does not verify with the public key it carries (tampered, or signed by another key)');
  return csr;
}

function checkPublicKey(csr: x509.Pkcs10CertificateRequest): void {
  const key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    if ((details.modulusLength ?? 0) < MIN_RSA_BITS) throw refused(`RSA keys must have at least ${MIN_RSA_BITS} bits (got ${details.modulusLength})`);
  } else if (key.asymmetricKeyType === 'ec') {
    if (!ACCEPTED_CURVES.has(details.namedCurve ?? '')) throw refused(`EC curve ${details.namedCurve} is not accepted (use P-256, P-384 or P-521)`);
  } else {
    throw refused(`${key.asymmetricKeyType} keys are not accepted (use ECDSA or RSA)`);
  }
}

/** A CSR may name the caller's own SPIFFE ID (Istio's agent does) but nothing else. */
function checkRequestedNames(csr: x509.Pkcs10CertificateRequest, spiffeId: string): void {
  const ext = csr.getExtension(SUBJECT_ALT_NAME_OID);
  if (ext && !(ext instanceof x509.SubjectAlternativeNameExtension)) throw refused('the CSR subjectAltName extension cannot be read');
  for (const name of ext?.names.items ?? []) {
    if (name.type !== 'url' || name.value !== spiffeId) {
      throw refused(`the CSR asks for ${name.type} name "${name.value}", but the caller may only get "${spiffeId}"`);
    }
  }
}

export function effectiveTtlMs(requestedMs: number | undefined, policy: TtlPolicy): number {
  if (!requestedMs || requestedMs <= 0) return Math.min(policy.defaultTtlMs, policy.maxTtlMs);
  return Math.min(requestedMs, policy.maxTtlMs);
}

/** Per-bundle facts every signature needs, parsed once (ASN.1 parsing dominated the cost per certificate). */
interface IssuerFacts {
  subjectName: x509.Name;
  authorityKeyId: string | undefined;
  signingIsRoot: boolean;
}
const issuerFacts = new WeakMap<CaBundle, IssuerFacts>();

function factsOf(bundle: CaBundle): IssuerFacts {
  let facts = issuerFacts.get(bundle);
  if (!facts) {
    const issuer = new x509.X509Certificate(bundle.signingCert.pem);
    facts = {
      subjectName: issuer.subjectName,
      authorityKeyId: issuer.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
      signingIsRoot: bundle.roots.some((r) => r.cert.raw.equals(bundle.signingCert.cert.raw)),
    };
    issuerFacts.set(bundle, facts);
  }
  return facts;
}

interface LeafParams {
  publicKey: x509.PublicKeyType;
  names: x509.JsonGeneralNames;
  notBefore: Date;
  ttlMs: number;
}

async function signLeaf(bundle: CaBundle, p: LeafParams): Promise<{ certPem: string; certChain: string[]; notAfter: Date }> {
  const facts = factsOf(bundle);
  const notAfter = new Date(p.notBefore.getTime() + p.ttlMs);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    // Istio leaves the subject empty; the identity lives only in the (then critical) SAN.
    subject: [],
    issuer: facts.subjectName,
    notBefore: p.notBefore,
    notAfter,
    publicKey: p.publicKey,
    signingKey: bundle.signingKey.privateKey,
    signingAlgorithm: bundle.signingKey.signatureAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(p.names, true),
      ...(facts.authorityKeyId ? [new x509.AuthorityKeyIdentifierExtension(facts.authorityKeyId)] : []),
    ],
  });
  const certPem = leaf.toString('pem') + '\n';
  const middle = facts.signingIsRoot ? [] : [bundle.signingCert.pem, ...bundle.intermediates.map((c) => c.pem)];
  return { certPem, certChain: [certPem, ...middle, rootBundlePem(bundle)], notAfter };
}

/** Checks the CSR and issues the caller's workload certificate. */
export async function signWorkloadCsr(bundle: CaBundle, req: SignRequest, policy: TtlPolicy = DEFAULT_TTL_POLICY): Promise<IssuedCertificate> {
  const spiffeId = spiffeUri(req.identity);
  const csr = await parseCsr(req.csrPem);
  checkPublicKey(csr);
  checkRequestedNames(csr, spiffeId);
  const notBefore = req.notBefore ?? new Date();
  const ttlMs = effectiveTtlMs(req.ttlMs, policy);
  const out = await signLeaf(bundle, { publicKey: csr, names: [{ type: 'url', value: spiffeId }], notBefore, ttlMs });
  return { spiffeId, certPem: out.certPem, certChain: out.certChain, notBefore, notAfter: out.notAfter };
}

/** A CSR for `identity`, signed by `key`: what a workload sends (its key stays with it). */
export async function createWorkloadCsr(key: KeyMaterial, identity: WorkloadIdentity): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: { privateKey: key.privateKey, publicKey: key.publicKey },
    signingAlgorithm: key.signatureAlgorithm,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeUri(identity) }], true)],
  });
  return csr.toString('pem') + '\n';
}

export interface ServingCertificate {
  key: KeyMaterial;
  certChainPem: string;
  notAfter: Date;
}

/**
 * A server certificate for the control plane's own TLS port (15012), by DNS name and IP, made
 * in-process: its key is generated here because the control plane is the CA's own process.
 */
export async function issueServingCertificate(
  bundle: CaBundle,
  opts: { dnsNames: string[]; ipAddresses?: string[]; ttlMs?: number },
): Promise<ServingCertificate> {
  const key = await generateKey();
  const names: x509.JsonGeneralNames = [
    ...opts.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const out = await signLeaf(bundle, { publicKey: key.publicKey, names, notBefore: new Date(), ttlMs: opts.ttlMs ?? DEFAULT_WORKLOAD_CERT_TTL_MS });
  return { key, certChainPem: out.certChain.slice(0, -1).join(''), notAfter: out.notAfter };
}
