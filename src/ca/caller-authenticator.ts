/**
 * Who is asking for a certificate. Istio's CA trusts two proofs, and so does Sailfin's: a client
 * certificate the TLS layer already verified against the mesh roots (a workload renewing), or a
 * bearer credential from the platform (a workload's first certificate). The proven identity, never
 * anything in the CSR, decides what the certificate says.
 */
import type * as grpc from '@grpc/grpc-js';
import { SailfinError } from '../common/errors.js';
import { parseWorkloadSpiffeId, spiffeUrisFromSubjectAltName, type WorkloadIdentity } from './spiffe.js';
import type { WorkloadTokenIssuer } from './workload-token.js';

/** What an authenticator may look at: the request metadata and the verified TLS peer (if any). */
export interface CallerContext {
  metadata: grpc.Metadata;
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: { subjectaltname?: string } } | null;
}

export interface CallerAuthenticator {
  authenticate(call: CallerContext): Promise<WorkloadIdentity>;
}

export interface AuthenticatedBy {
  identity: WorkloadIdentity;
  method: 'mtls' | 'token';
}

function unauthenticated(message: string): SailfinError {
  return new SailfinError('semantic', message);
}

/**
 * mTLS first: grpc-js exposes the peer certificate only when the handshake verified it against the
 * server's CA (the mesh roots), so its presence is the proof. Otherwise `authorization: Bearer <token>`.
 */
export class MeshCallerAuthenticator implements CallerAuthenticator {
  constructor(
    private readonly trustDomain: string,
    private readonly tokens?: WorkloadTokenIssuer,
  ) {}

  async authenticate(call: CallerContext): Promise<WorkloadIdentity> {
    return (await this.authenticateWithMethod(call)).identity;
  }

  async authenticateWithMethod(call: CallerContext): Promise<AuthenticatedBy> {
    const peer = call.getAuthContext()?.sslPeerCertificate;
    if (peer) {
      const ids = spiffeUrisFromSubjectAltName(peer.subjectaltname);
      if (ids.length !== 1) throw unauthenticated(`the client certificate must carry exactly one SPIFFE ID (found ${ids.length})`);
      const identity = parseWorkloadSpiffeId(ids[0]);
      this.checkTrustDomain(identity);
      return { identity, method: 'mtls' };
    }
    const header = call.metadata.get('authorization')[0];
    if (typeof header === 'string' && /^Bearer\s+/i.test(header)) {
      if (!this.tokens) throw unauthenticated('token authentication is not enabled on this CA');
      const identity = this.tokens.verify(header.replace(/^Bearer\s+/i, '').trim());
      this.checkTrustDomain(identity);
      return { identity, method: 'token' };
    }
    throw unauthenticated('no verified client certificate and no bearer token: the caller is not authenticated');
  }

  private checkTrustDomain(id: WorkloadIdentity): void {
    if (id.trustDomain !== this.trustDomain) {
      throw unauthenticated(`the caller's trust domain "${id.trustDomain}" is not this mesh's ("${this.trustDomain}")`);
    }
  }
}
