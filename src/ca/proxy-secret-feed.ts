/**
 * Connects a workload's certificates to an in-process proxy: every new certificate is handed to the
 * proxy's secret store as the SDS secrets `default` and `ROOTCA`, exactly as an SDS push would, so the
 * proxy's TLS contexts rebuild and new handshakes use it while open connections keep theirs.
 */
import type { JsonObject } from '../proxy/config/fields.js';
import { defaultCertificateSecret, rootCaSecret } from './sds-secrets.js';
import type { WorkloadCertificate, WorkloadCertificates } from './workload-certificates.js';

/** The part of the proxy's SecretProviderImpl this needs. */
export interface SecretSink {
  addOrUpdate(json: JsonObject, path: string): void;
}

/** Pushes the current certificate (if any) and every later one; returns a function that stops following. */
export function feedWorkloadSecrets(certs: WorkloadCertificates, sink: SecretSink): () => void {
  let lastRoots: string | undefined;
  const push = (cert: WorkloadCertificate) => {
    // Roots first, and only when they changed, so a context never verifies with a stale bundle
    // against a leaf from a new root, and an unchanged ROOTCA does not rebuild every context.
    if (cert.rootsPem !== lastRoots) {
      sink.addOrUpdate(rootCaSecret(cert.rootsPem) as JsonObject, 'sds ROOTCA');
      lastRoots = cert.rootsPem;
    }
    sink.addOrUpdate(defaultCertificateSecret(cert) as JsonObject, 'sds default');
  };
  if (certs.current) push(certs.current);
  certs.on('update', push);
  return () => certs.off('update', push);
}
