/**
 * A user's own CA in Istio's `cacerts` layout: `ca-cert.pem` (the certificate that signs workload
 * certificates), `ca-key.pem` (its key), `root-cert.pem` (the trust anchor(s) workloads are given)
 * and `cert-chain.pem` (ca-cert and any intermediates up to the root, handed out with each
 * workload certificate). Read from a directory or from a Secret's data, then checked as a whole
 * before use; every error names the file or Secret key at fault. Istio's cert-manager style layout
 * (`tls.crt`, `tls.key`, `ca.crt`) is read too when `ca-cert.pem` is absent.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SailfinError } from '../common/errors.js';
import type { Resource } from '../config/resource.js';
import { decodeSecret } from '../config/secret.js';
import { verifyBundle, type CaBundle } from './ca-bundle.js';
import { importPrivateKeyPem } from './keys.js';
import { parseCertBundle, parseSingleCert } from './pem.js';

export const CA_CERT = 'ca-cert.pem';
export const CA_KEY = 'ca-key.pem';
export const ROOT_CERT = 'root-cert.pem';
export const CERT_CHAIN = 'cert-chain.pem';
/** The cert-manager style layout Istio also accepts: tls.crt (CA cert, then its chain), tls.key, ca.crt (root). */
export const TLS_CRT = 'tls.crt';
export const TLS_KEY = 'tls.key';
export const CA_CRT = 'ca.crt';
/** Istio's name for the Secret holding a plug-in CA. */
export const CACERTS_SECRET_NAME = 'cacerts';

/** The four inputs as text, each with the name to report it by. A missing cert-chain is allowed (no intermediates). */
export interface PluginCaFiles {
  caCert: { text: string; source: string };
  caKey: { text: string; source: string };
  rootCert: { text: string; source: string };
  certChain?: { text: string; source: string };
  /** tls.crt layout: caCert is the signing certificate followed by its chain. */
  caCertHoldsChain?: boolean;
}

/** Maps the tls.crt/tls.key/ca.crt layout onto the cacerts inputs. */
function tlsLayout(get: (key: string) => { text: string; source: string } | undefined, sourceOf: (key: string) => string): PluginCaFiles | undefined {
  const crt = get(TLS_CRT);
  if (!crt) return undefined;
  const key = get(TLS_KEY);
  const root = get(CA_CRT);
  for (const [name, value] of [[TLS_KEY, key], [CA_CRT, root]] as const) {
    if (!value) throw new SailfinError('schema', `missing (with ${TLS_CRT}, a plug-in CA needs ${TLS_KEY} and ${CA_CRT})`, { location: { file: sourceOf(name) } });
  }
  if (!key || !root) return undefined;
  return { caCert: crt, caKey: key, rootCert: root, certChain: crt, caCertHoldsChain: true };
}

export async function buildPluginCa(files: PluginCaFiles, origin: string, now = new Date()): Promise<CaBundle> {
  // In the tls.crt layout the signing certificate comes first and its chain follows in the same file.
  const signingCert = files.caCertHoldsChain ? parseCertBundle(files.caCert.text, files.caCert.source)[0] : parseSingleCert(files.caCert.text, files.caCert.source);
  const signingKey = await importPrivateKeyPem(files.caKey.text, files.caKey.source);
  const roots = parseCertBundle(files.rootCert.text, files.rootCert.source);
  const chain = files.certChain ? parseCertBundle(files.certChain.text, files.certChain.source) : [];
  const intermediates = verifyBundle(
    { signingCert, signingKey, chain, roots },
    {
      signingCert: files.caCert.source,
      signingKey: files.caKey.source,
      chain: files.certChain?.source ?? `${files.caCert.source} (no ${CERT_CHAIN})`,
      roots: files.rootCert.source,
    },
    now,
  );
  return { mode: 'plugin', origin, signingCert, signingKey, intermediates, roots };
}

async function readPart(dir: string, name: string, required: boolean): Promise<{ text: string; source: string } | undefined> {
  const path = join(dir, name);
  try {
    return { text: await readFile(path, 'utf8'), source: path };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    const why = code === 'ENOENT' ? `missing (a plug-in CA needs ${CA_CERT}, ${CA_KEY} and ${ROOT_CERT})` : `cannot read (${(err as Error).message})`;
    throw new SailfinError('io', why, { location: { file: path }, cause: err });
  }
}

export async function loadPluginCaFromDir(dir: string, now = new Date()): Promise<CaBundle> {
  if (!(await readPart(dir, CA_CERT, false))) {
    const parts = new Map<string, { text: string; source: string } | undefined>();
    for (const name of [TLS_CRT, TLS_KEY, CA_CRT]) parts.set(name, await readPart(dir, name, false));
    const files = tlsLayout((k) => parts.get(k), (k) => join(dir, k));
    if (files) return buildPluginCa(files, dir, now);
  }
  const [caCert, caKey, rootCert, certChain] = await Promise.all([
    readPart(dir, CA_CERT, true),
    readPart(dir, CA_KEY, true),
    readPart(dir, ROOT_CERT, true),
    readPart(dir, CERT_CHAIN, false),
  ]);
  return buildPluginCa({ caCert: caCert!, caKey: caKey!, rootCert: rootCert!, certChain }, dir, now);
}

/** From a `cacerts`-style Secret; sources read `Secret istio-system/cacerts: ca-key.pem`. */
export async function loadPluginCaFromSecret(secret: Resource, now = new Date()): Promise<CaBundle> {
  const name = `Secret ${secret.metadata.namespace ?? 'default'}/${secret.metadata.name}`;
  const decoded = decodeSecret(secret);
  const source = (key: string) => `${name}: ${key}`;
  for (const key of decoded.invalidKeys) {
    if ([CA_CERT, CA_KEY, ROOT_CERT, CERT_CHAIN, TLS_CRT, TLS_KEY, CA_CRT].includes(key)) {
      throw new SailfinError('schema', 'data is not valid base64', { location: { file: source(key) } });
    }
  }
  const plain = (key: string) => {
    const value = decoded.data.get(key);
    return value === undefined ? undefined : { text: value.toString('utf8'), source: source(key) };
  };
  if (!decoded.data.has(CA_CERT)) {
    const files = tlsLayout(plain, source);
    if (files) return buildPluginCa(files, name, now);
  }
  const part = (key: string, required: boolean) => {
    const value = decoded.data.get(key);
    if (value === undefined) {
      if (!required) return undefined;
      throw new SailfinError('schema', `missing key (a plug-in CA needs ${CA_CERT}, ${CA_KEY} and ${ROOT_CERT})`, { location: { file: source(key) } });
    }
    return { text: value.toString('utf8'), source: source(key) };
  };
  return buildPluginCa(
    { caCert: part(CA_CERT, true)!, caKey: part(CA_KEY, true)!, rootCert: part(ROOT_CERT, true)!, certChain: part(CERT_CHAIN, false) },
    name,
    now,
  );
}
