/**
 * The istio-agent half of a sidecar: get the workload's certificate from the mesh CA (a key made here,
 * a CSR, the bootstrap token, renewal before expiry) and hand it to the proxy as the SDS secrets
 * `default` and `ROOTCA`. Until the first certificate arrives, mTLS listeners and clusters refuse to
 * handshake rather than use anything else.
 */
import type { Logger } from 'pino';
import { SailfinError } from '../common/errors.js';
import { feedWorkloadSecrets, startWorkloadIdentity } from '../ca/index.js';
import type { JsonObject } from '../proxy/config/fields.js';
import type { SecretSink } from '../ca/proxy-secret-feed.js';

export interface IdentityOptions {
  identityDir: string;
  caAddress: string;
  trustDomain: string;
}

function metadataOf(bootstrap: JsonObject): Record<string, unknown> {
  const node = (bootstrap.node ?? {}) as JsonObject;
  return (node.metadata ?? {}) as Record<string, unknown>;
}

/** Starts certificate management for the identity the bootstrap's node metadata names (NAMESPACE, SERVICE_ACCOUNT). */
export async function attachIdentity(bootstrap: JsonObject, sink: SecretSink, opts: IdentityOptions, log?: Logger): Promise<() => void> {
  const md = metadataOf(bootstrap);
  const namespace = typeof md.NAMESPACE === 'string' ? md.NAMESPACE : undefined;
  const serviceAccount = typeof md.SERVICE_ACCOUNT === 'string' ? md.SERVICE_ACCOUNT : 'default';
  if (!namespace) throw new SailfinError('schema', 'an identity needs node.metadata.NAMESPACE in the bootstrap', { field: 'node.metadata.NAMESPACE' });
  const certs = await startWorkloadIdentity({
    identity: { trustDomain: opts.trustDomain, namespace, serviceAccount },
    bootstrapDir: opts.identityDir,
    caAddress: opts.caAddress,
  });
  certs.on('error', (err) => log?.warn(`certificate renewal failed (keeping the current one): ${err.message}`));
  return feedWorkloadSecrets(certs, sink);
}
