/**
 * Kubernetes service-account tokens as proof of identity at the mesh CA, as istiod accepts them: an
 * injected pod's first certificate request carries its projected token (audience `istio-ca`), which
 * the API server checks through a TokenReview; the identity is the service account it names
 * (`system:serviceaccount:<ns>:<sa>`). Renewals use the workload certificate (mTLS) and Sailfin's own
 * bootstrap tokens keep working, so the same CA serves the local mesh's callers too.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { CallerAuthenticator, CallerContext } from '../ca/caller-authenticator.js';
import { SailfinError } from '../common/errors.js';
import type { WorkloadIdentity } from '../ca/spiffe.js';
import { answerMessage, requestJson } from './api-client.js';

export const CA_AUDIENCE = 'istio-ca';
const SAILFIN_TOKEN_PREFIX = 'sfwt1.';
/** A verified token is trusted this long without asking again (a pod retrying must not flood the API server). */
const CACHE_MS = 60_000;

function refused(message: string): SailfinError {
  return new SailfinError('semantic', message, { field: 'authorization' });
}

export class TokenReviewer {
  private readonly cache = new Map<string, { namespace: string; serviceAccount: string; until: number }>();

  constructor(private readonly kc: KubeConfig) {}

  /** The service account a token belongs to, or a SailfinError saying why it is not accepted. */
  async review(token: string, now = Date.now()): Promise<{ namespace: string; serviceAccount: string }> {
    const hit = this.cache.get(token);
    if (hit && hit.until > now) return hit;
    const answer = await requestJson(this.kc, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [CA_AUDIENCE] } },
      timeoutMs: 10_000,
    }).catch((err: unknown) => {
      throw refused(`cannot reach the API server to review the token: ${(err as Error).message}`);
    });
    if (answer.status >= 300) throw refused(`TokenReview failed: ${answerMessage(answer)}`);
    const status = (answer.body as { status?: { authenticated?: boolean; error?: string; user?: { username?: string }; audiences?: string[] } }).status ?? {};
    if (!status.authenticated) throw refused(`the token is not valid${status.error ? `: ${status.error}` : ''}`);
    if (status.audiences && !status.audiences.includes(CA_AUDIENCE)) throw refused(`the token is not for audience ${CA_AUDIENCE}`);
    const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(status.user?.username ?? '');
    if (!m) throw refused(`the token belongs to "${status.user?.username}", not to a service account`);
    const who = { namespace: m[1], serviceAccount: m[2] };
    this.cache.set(token, { ...who, until: now + CACHE_MS });
    return who;
  }
}

/** Mesh certificates and Sailfin tokens as before; any other bearer token goes to a TokenReview. */
export class KubeCallerAuthenticator implements CallerAuthenticator {
  constructor(
    private readonly mesh: CallerAuthenticator,
    private readonly reviewer: TokenReviewer,
    private readonly trustDomain: string,
  ) {}

  async authenticate(call: CallerContext): Promise<WorkloadIdentity> {
    const header = call.metadata.get('authorization')[0];
    const bearer = typeof header === 'string' && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : undefined;
    if (call.getAuthContext()?.sslPeerCertificate || bearer === undefined || bearer.startsWith(SAILFIN_TOKEN_PREFIX)) return this.mesh.authenticate(call);
    const who = await this.reviewer.review(bearer);
    return { trustDomain: this.trustDomain, ...who };
  }
}
