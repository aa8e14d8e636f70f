/**
 * SPIFFE IDs, the mesh's workload identities: `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`,
 * carried as the only URI SAN of a workload certificate. Istio's principals (AuthorizationPolicy
 * `principals`, XFCC) are the same string without the scheme: `cluster.local/ns/default/sa/bookinfo-ratings`.
 * Validation follows the SPIFFE ID spec (lower-case trust domain; path segments of letters, digits,
 * `.`, `-`, `_`; no empty, `.` or `..` segments; no query, fragment, port or user info).
 */
import { SailfinError } from '../common/errors.js';

export const SPIFFE_SCHEME = 'spiffe://';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
const MAX_ID_LENGTH = 2048;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** An Istio workload identity. */
export interface WorkloadIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

function invalid(message: string, field?: string): SailfinError {
  return new SailfinError('semantic', message, field ? { field } : {});
}

export function validateTrustDomain(td: string): void {
  if (!td) throw invalid('trust domain is empty', 'trustDomain');
  if (!TRUST_DOMAIN.test(td)) {
    throw invalid(`trust domain "${td}" may only contain lower-case letters, digits, ".", "-" and "_"`, 'trustDomain');
  }
}

function validateSegment(seg: string, what: string): void {
  if (!seg) throw invalid(`${what} is empty`);
  if (seg === '.' || seg === '..') throw invalid(`${what} "${seg}" is not allowed`);
  if (!SEGMENT.test(seg)) throw invalid(`${what} "${seg}" may only contain letters, digits, ".", "-" and "_"`);
}

/** `spiffe://td/ns/NS/sa/SA`; throws when a part would make an invalid SPIFFE ID. */
export function spiffeUri(id: WorkloadIdentity): string {
  validateTrustDomain(id.trustDomain);
  validateSegment(id.namespace, 'namespace');
  validateSegment(id.serviceAccount, 'service account');
  return `${SPIFFE_SCHEME}${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** Istio's principal form, `td/ns/NS/sa/SA` (no scheme). */
export function principal(id: WorkloadIdentity): string {
  return spiffeUri(id).slice(SPIFFE_SCHEME.length);
}

/** Any SPIFFE ID, split into trust domain and path segments. */
export function parseSpiffeId(uri: string): { trustDomain: string; segments: string[] } {
  if (uri.length > MAX_ID_LENGTH) throw invalid(`SPIFFE ID is longer than ${MAX_ID_LENGTH} bytes`);
  if (!uri.toLowerCase().startsWith(SPIFFE_SCHEME)) throw invalid(`"${uri}" is not a SPIFFE ID (must start with "spiffe://")`);
  if (!uri.startsWith(SPIFFE_SCHEME)) throw invalid(`"${uri}": the scheme must be lower-case "spiffe"`);
  const rest = uri.slice(SPIFFE_SCHEME.length);
  if (/[?#]/.test(rest)) throw invalid(`"${uri}": SPIFFE IDs have no query or fragment`);
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  if (/[@:]/.test(trustDomain)) throw invalid(`"${uri}": the trust domain may not carry a port or user info`);
  validateTrustDomain(trustDomain);
  if (slash < 0) return { trustDomain, segments: [] };
  const path = rest.slice(slash + 1);
  const segments = path.split('/');
  for (const seg of segments) validateSegment(seg, `path segment in "${uri}"`);
  return { trustDomain, segments };
}

/** An Istio workload SPIFFE ID (`/ns/<ns>/sa/<sa>`). */
export function parseWorkloadSpiffeId(uri: string): WorkloadIdentity {
  const { trustDomain, segments } = parseSpiffeId(uri);
  if (segments.length !== 4 || segments[0] !== 'ns' || segments[2] !== 'sa') {
    throw invalid(`"${uri}" is not a workload identity (expected spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)`);
  }
  return { trustDomain, namespace: segments[1], serviceAccount: segments[3] };
}

/**
 * SPIFFE URIs in a `subjectaltname` string as Node reports it
 * (`socket.getPeerCertificate().subjectaltname`, `X509Certificate.subjectAltName`).
 */
export function spiffeUrisFromSubjectAltName(san: string | undefined): string[] {
  if (!san) return [];
  return san
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('URI:spiffe://'))
    .map((entry) => entry.slice('URI:'.length).replace(/^"|"$/g, ''));
}
