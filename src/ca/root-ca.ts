/**
 * The default CA: a self-signed root made on first start and kept in the state directory, so a
 * restarted control plane keeps the same root and every certificate already issued stays valid.
 * The shape follows Istio's self-signed root: organisation = trust domain, ten years, CA with
 * keyCertSign/cRLSign, no intermediates (the root signs workload certificates directly).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SailfinError } from '../common/errors.js';
import { verifyBundle, type CaBundle } from './ca-bundle.js';
import { generateKey, importPrivateKeyPem, DEFAULT_KEY_ALGORITHM, type KeyAlgorithm } from './keys.js';
import { parseSingleCert } from './pem.js';
import { DEFAULT_TRUST_DOMAIN, validateTrustDomain } from './spiffe.js';
import { x509 } from './x509.js';

export const SELF_SIGNED_ROOT_TTL_MS = 10 * 365 * 24 * 3600 * 1000;
/** File names inside `<state-dir>/ca/`, the same names as the plug-in layout so an operator can inspect them. */
export const ROOT_CERT_FILE = 'ca-cert.pem';
export const ROOT_KEY_FILE = 'ca-key.pem';

export interface SelfSignedRootOptions {
  trustDomain?: string;
  /** Organisation in the subject; Istio uses the trust domain. */
  organization?: string;
  ttlMs?: number;
  keyAlgorithm?: KeyAlgorithm;
  now?: Date;
}

/** A positive serial of 128 random bits (the top bit cleared so DER does not make it negative). */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  if (bytes[0] === 0) bytes[0] = 0x01;
  return bytes.toString('hex');
}

export async function createSelfSignedRoot(opts: SelfSignedRootOptions = {}): Promise<CaBundle> {
  const trustDomain = opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  validateTrustDomain(trustDomain);
  const key = await generateKey(opts.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM);
  const now = opts.now ?? new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ O: [opts.organization ?? trustDomain] }],
    notBefore: now,
    notAfter: new Date(now.getTime() + (opts.ttlMs ?? SELF_SIGNED_ROOT_TTL_MS)),
    signingAlgorithm: key.signatureAlgorithm,
    keys: { privateKey: key.privateKey, publicKey: key.publicKey },
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(key.publicKey),
    ],
  });
  const parsed = parseSingleCert(cert.toString('pem'), 'generated root');
  return { mode: 'self-signed', origin: 'generated', signingCert: parsed, signingKey: key, intermediates: [], roots: [parsed] };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SailfinError('io', `cannot read (${(err as Error).message})`, { location: { file: path }, cause: err });
  }
}

/** Write-then-rename so a crash mid-write never leaves half a key that would block the next start. */
async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, path);
}

/**
 * The self-signed CA kept under `<stateDir>/ca/`: loaded (and re-checked) when present, made and
 * written when absent. Half a pair, or a pair that fails the checks, is an error naming the file
 * rather than a silent new root, because a new root would orphan every workload certificate.
 */
export async function loadOrCreateSelfSignedCa(stateDir: string, opts: SelfSignedRootOptions = {}): Promise<CaBundle> {
  const dir = join(stateDir, 'ca');
  const certPath = join(dir, ROOT_CERT_FILE);
  const keyPath = join(dir, ROOT_KEY_FILE);
  const [certText, keyText] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (certText !== undefined && keyText !== undefined) {
    const signingCert = parseSingleCert(certText, certPath);
    const signingKey = await importPrivateKeyPem(keyText, keyPath);
    verifyBundle({ signingCert, signingKey, chain: [], roots: [signingCert] }, { signingCert: certPath, signingKey: keyPath, chain: certPath, roots: certPath });
    return { mode: 'self-signed', origin: dir, signingCert, signingKey, intermediates: [], roots: [signingCert] };
  }
  if (certText !== undefined || keyText !== undefined) {
    const missing = certText === undefined ? certPath : keyPath;
    throw new SailfinError('io', `the self-signed CA is incomplete: this file is missing (remove the other one to make a new root, which invalidates every issued certificate)`, {
      location: { file: missing },
    });
  }
  const bundle = await createSelfSignedRoot(opts);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomically(keyPath, bundle.signingKey.pem, 0o600);
  await writeAtomically(certPath, bundle.signingCert.pem, 0o644);
  return { ...bundle, origin: dir };
}
