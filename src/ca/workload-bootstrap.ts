/**
 * What a pod is given at start so its proxy can get an identity, in Istio's file names: the
 * bootstrap token (`istio-token`, Istio mounts it at /var/run/secrets/tokens/) and the mesh root
 * (`root-cert.pem`, Istio's istio-ca-root-cert ConfigMap at /var/run/secrets/istio/) to verify the
 * control plane's TLS port. The runtime writes them into the pod's private directory; the proxy
 * reads them and keeps its certificate fresh from there on.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SailfinError } from '../common/errors.js';
import type { WorkloadIdentity } from './spiffe.js';
import { WorkloadCertificates, grpcCertificateSource, type WorkloadCertificatesOptions } from './workload-certificates.js';

export const BOOTSTRAP_TOKEN_FILE = 'istio-token';
export const BOOTSTRAP_ROOT_FILE = 'root-cert.pem';

async function writePrivate(path: string, text: string, mode: number): Promise<void> {
  await writeFile(`${path}.tmp`, text, { mode });
  await rename(`${path}.tmp`, path);
}

/** Writes (or refreshes) a pod's bootstrap files; the token is readable by the owner only. */
export async function writeWorkloadBootstrap(dir: string, material: { token: string; rootsPem: string }): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writePrivate(join(dir, BOOTSTRAP_TOKEN_FILE), material.token, 0o600);
  await writePrivate(join(dir, BOOTSTRAP_ROOT_FILE), material.rootsPem, 0o644);
}

async function readRequired(path: string, what: string): Promise<string> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (!text) throw new SailfinError('io', `${what} is empty`, { location: { file: path } });
    return text;
  } catch (err) {
    if (err instanceof SailfinError) throw err;
    throw new SailfinError('io', `cannot read ${what} (${(err as Error).message})`, { location: { file: path }, cause: err });
  }
}

export interface WorkloadIdentityOptions extends Omit<WorkloadCertificatesOptions, 'source' | 'identity'> {
  identity: WorkloadIdentity;
  /** The pod's bootstrap directory (see writeWorkloadBootstrap). */
  bootstrapDir: string;
  /** host:port of the control plane's TLS port (15012). */
  caAddress: string;
  /** Name checked in the control plane's certificate (default istiod.istio-system.svc). */
  caServerName?: string;
}

/**
 * Starts a workload's certificate lifecycle from its bootstrap files: the first certificate is
 * fetched before this resolves (so a proxy never listens without one). The token file is re-read
 * for each request, so the runtime may refresh it in place.
 */
export async function startWorkloadIdentity(opts: WorkloadIdentityOptions): Promise<WorkloadCertificates> {
  const rootsPem = await readRequired(join(opts.bootstrapDir, BOOTSTRAP_ROOT_FILE), 'the mesh root certificate');
  const tokenPath = join(opts.bootstrapDir, BOOTSTRAP_TOKEN_FILE);
  await readRequired(tokenPath, 'the bootstrap token');
  const { bootstrapDir: _d, caAddress, caServerName, ...rest } = opts;
  const certs = new WorkloadCertificates({
    ...rest,
    source: grpcCertificateSource({
      address: caAddress,
      caRootsPem: rootsPem + '\n',
      serverName: caServerName,
      token: () => readRequired(tokenPath, 'the bootstrap token').catch(() => undefined),
    }),
  });
  await certs.start();
  return certs;
}
