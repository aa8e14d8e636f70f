/**
 * envoy.filters.http.cors: answers preflights for allowed origins and adds the CORS response
 * headers to actual requests, from the policy on the route or virtual host (typed_per_filter_config).
 */
import { assertKnownFields, join, optArray, optBool, optString, type JsonObject } from '../../config/fields.js';
import { perRouteConfig } from '../../rbac/per-route.js';
import type { ActiveStream } from '../active-stream.js';
import { registerHttpFilter, registerPerRouteConfig } from '../filter-registry.js';
import { HeaderList } from '../headers.js';
import { FilterStatus, type HttpFilter } from '../http-filter.js';
import { compileStringMatcher, type StringPredicate } from '../matchers.js';

export const CORS_FILTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors';
export const CORS_POLICY_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';

export interface CorsPolicy {
  readonly origins: readonly StringPredicate[];
  readonly allowMethods?: string;
  readonly allowHeaders?: string;
  readonly exposeHeaders?: string;
  readonly maxAge?: string;
  readonly allowCredentials: boolean;
  readonly forwardNotMatchingPreflights: boolean;
  readonly allowPrivateNetworkAccess: boolean;
}

export function compileCorsPolicy(json: JsonObject, path: string): CorsPolicy {
  assertKnownFields(
    json,
    ['@type', 'allow_origin_string_match', 'allow_methods', 'allow_headers', 'expose_headers', 'max_age', 'allow_credentials', 'forward_not_matching_preflights', 'allow_private_network_access', 'filter_enabled', 'shadow_enabled'],
    path,
  );
  return {
    origins: optArray(json, 'allow_origin_string_match', path).map((m, i) => compileStringMatcher(m, join(join(path, 'allow_origin_string_match'), i))),
    allowMethods: optString(json, 'allow_methods', path),
    allowHeaders: optString(json, 'allow_headers', path),
    exposeHeaders: optString(json, 'expose_headers', path),
    maxAge: optString(json, 'max_age', path),
    allowCredentials: optBool(json, 'allow_credentials', path) ?? false,
    forwardNotMatchingPreflights: optBool(json, 'forward_not_matching_preflights', path) ?? true,
    allowPrivateNetworkAccess: optBool(json, 'allow_private_network_access', path) ?? false,
  };
}

class CorsFilter implements HttpFilter {
  constructor(readonly name: string) {}

  decodeHeaders(s: ActiveStream): FilterStatus {
    const route = s.route;
    if (!route) return FilterStatus.Continue;
    const policy = perRouteConfig(route, this.name) as CorsPolicy | undefined | null;
    if (!policy) return FilterStatus.Continue;
    const origin = s.headers.get('origin');
    if (!origin) return FilterStatus.Continue;
    const allowed = policy.origins.some((m) => m(origin));
    const preflight = s.method === 'OPTIONS' && s.headers.has('access-control-request-method');
    if (preflight) {
      if (!allowed) {
        if (policy.forwardNotMatchingPreflights) return FilterStatus.Continue;
        s.encodeHeaders(200, new HeaderList(['content-length', '0']), true, false);
        return FilterStatus.StopIteration;
      }
      const h = new HeaderList(['access-control-allow-origin', origin]);
      if (policy.allowCredentials) h.add('access-control-allow-credentials', 'true');
      if (policy.allowMethods) h.add('access-control-allow-methods', policy.allowMethods);
      if (policy.allowHeaders) h.add('access-control-allow-headers', policy.allowHeaders);
      if (policy.maxAge) h.add('access-control-max-age', policy.maxAge);
      if (policy.allowPrivateNetworkAccess && s.headers.get('access-control-request-private-network') === 'true') {
        h.add('access-control-allow-private-network', 'true');
      }
      h.add('content-length', '0');
      s.info.responseCodeDetails = 'cors_response';
      s.encodeHeaders(200, h, true, false);
      return FilterStatus.StopIteration;
    }
    if (allowed) {
      s.corsOrigin = origin;
      s.corsPolicy = policy;
    }
    return FilterStatus.Continue;
  }

  encodeHeaders(s: ActiveStream, _status: number, headers: HeaderList): void {
    const origin = s.corsOrigin;
    if (!origin) return;
    const policy = s.corsPolicy as CorsPolicy;
    headers.set('access-control-allow-origin', origin);
    if (policy.allowCredentials) headers.set('access-control-allow-credentials', 'true');
    if (policy.exposeHeaders) headers.set('access-control-expose-headers', policy.exposeHeaders);
  }
}

registerHttpFilter(CORS_FILTER_TYPE, (json, _ctx, path, name) => {
  assertKnownFields(json, ['@type'], path);
  return new CorsFilter(name);
});
registerPerRouteConfig(CORS_POLICY_TYPE, compileCorsPolicy);
