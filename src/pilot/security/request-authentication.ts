/**
 * RequestAuthentication → Envoy jwt_authn, the way Istio builds it: one provider per jwtRule across
 * the policies that select the workload, and one rule for every path that requires "any of these
 * providers, or no token at all" — so a request without a token passes (only AuthorizationPolicy's
 * requestPrincipals can demand one) while a present but invalid token is refused with 401.
 * A jwksUri is left for the proxy to fetch (Istio can also inline it from istiod).
 */
import type { LoadedResource } from '../../config/resource.js';
import type { JsonObject } from '../../proxy/config/fields.js';

export const JWT_AUTHN_FILTER = 'envoy.filters.http.jwt_authn';
const JWT_AUTHN_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';

interface JwtRule {
  issuer?: string;
  audiences?: string[];
  jwksUri?: string;
  jwks?: string;
  fromHeaders?: Array<{ name: string; prefix?: string }>;
  fromParams?: string[];
  outputPayloadToHeader?: string;
  forwardOriginalToken?: boolean;
  outputClaimToHeaders?: Array<{ header: string; claim: string }>;
  timeout?: string;
}

interface RequestAuthenticationSpec {
  selector?: { matchLabels?: Record<string, string> };
  jwtRules?: JwtRule[];
}

export interface SelectedRequestAuthentication {
  name: string;
  namespace: string;
  spec: RequestAuthenticationSpec;
}

/** The policies that apply to a workload: its namespace's (selector permitting) and the root namespace's. */
export function requestAuthenticationsFor(list: readonly LoadedResource[], rootNamespace: string, namespace: string, labels: Record<string, string>): SelectedRequestAuthentication[] {
  return list
    .map((r) => ({ name: r.resource.metadata.name, namespace: r.resource.metadata.namespace ?? 'default', spec: (r.resource.spec ?? {}) as RequestAuthenticationSpec }))
    .filter((p) => p.namespace === namespace || p.namespace === rootNamespace)
    .filter((p) => Object.entries(p.spec.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v))
    .sort((a, b) => (a.namespace + '/' + a.name).localeCompare(b.namespace + '/' + b.name));
}

/** The jwks_uri's host as an outbound cluster name (informational: the proxy fetches the URI itself). */
function jwksCluster(uri: string): string {
  try {
    const u = new URL(uri);
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    return `outbound|${port}||${u.hostname}`;
  } catch {
    return 'outbound|443||invalid';
  }
}

function provider(rule: JwtRule): JsonObject {
  const p: JsonObject = { issuer: rule.issuer ?? '' };
  if (rule.audiences?.length) p.audiences = rule.audiences;
  if (rule.jwks) p.local_jwks = { inline_string: rule.jwks };
  else if (rule.jwksUri) {
    p.remote_jwks = { http_uri: { uri: rule.jwksUri, cluster: jwksCluster(rule.jwksUri), timeout: rule.timeout ?? '5s' }, cache_duration: '300s' };
  }
  if (rule.fromHeaders?.length) p.from_headers = rule.fromHeaders.map((h): JsonObject => (h.prefix ? { name: h.name, value_prefix: h.prefix } : { name: h.name }));
  if (rule.fromParams?.length) p.from_params = rule.fromParams;
  if (rule.forwardOriginalToken) p.forward = true;
  if (rule.outputPayloadToHeader) p.forward_payload_header = rule.outputPayloadToHeader;
  if (rule.outputClaimToHeaders?.length) p.claim_to_headers = rule.outputClaimToHeaders.map((c) => ({ header_name: c.header, claim_name: c.claim }));
  // Istio keys the payload by issuer; RBAC reads the derived istio_authn attributes instead.
  if (rule.issuer) p.payload_in_metadata = rule.issuer;
  return p;
}

/** The jwt_authn filter for a workload, or undefined when no RequestAuthentication with rules applies. */
export function jwtAuthnFilter(policies: readonly SelectedRequestAuthentication[]): JsonObject | undefined {
  const providers: JsonObject = {};
  const names: string[] = [];
  for (const p of policies) {
    for (const rule of p.spec.jwtRules ?? []) {
      if (!rule.jwks && !rule.jwksUri) continue; // the analyzer reports a rule with no key source; it can verify nothing
      const name = `origins-${names.length}`;
      providers[name] = provider(rule);
      names.push(name);
    }
  }
  if (names.length === 0) return undefined;
  const requirements: JsonObject[] = [...names.map((n) => ({ provider_name: n })), { allow_missing: {} }];
  return {
    name: JWT_AUTHN_FILTER,
    typed_config: {
      '@type': JWT_AUTHN_TYPE,
      providers,
      rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements } } }],
      bypass_cors_preflight: true,
    },
  };
}
