/** Istio CorsPolicy → the per-route config of Envoy's CORS filter. */
import type { JsonObject } from '../../proxy/config/fields.js';
import { istioToProtoDuration } from '../duration.js';
import { stringMatcher, type IstioStringMatch } from './string-match.js';

export const CORS_FILTER = 'envoy.filters.http.cors';
export const CORS_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';

export interface IstioCorsPolicy {
  allowOrigins?: IstioStringMatch[];
  allowOrigin?: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
  allowCredentials?: boolean;
  unmatchedPreflights?: 'UNSPECIFIED' | 'FORWARD' | 'IGNORE';
}

export function corsConfig(cors: IstioCorsPolicy, field: string): JsonObject {
  const origins: JsonObject[] = [];
  (cors.allowOrigins ?? []).forEach((o, i) => origins.push(stringMatcher(o, `${field}.allowOrigins[${i}]`)));
  // The deprecated allowOrigin list holds exact origins, with `*` meaning any.
  for (const o of cors.allowOrigin ?? []) origins.push(o === '*' ? { safe_regex: { regex: '.*' } } : { exact: o });
  const out: JsonObject = { '@type': CORS_TYPE, allow_origin_string_match: origins };
  if (cors.allowMethods?.length) out.allow_methods = cors.allowMethods.join(',');
  if (cors.allowHeaders?.length) out.allow_headers = cors.allowHeaders.join(',');
  if (cors.exposeHeaders?.length) out.expose_headers = cors.exposeHeaders.join(',');
  if (cors.maxAge !== undefined) out.max_age = String(Math.round(Number(istioToProtoDuration(cors.maxAge, `${field}.maxAge`).slice(0, -1))));
  if (cors.allowCredentials !== undefined) out.allow_credentials = cors.allowCredentials;
  if (cors.unmatchedPreflights === 'IGNORE') out.forward_not_matching_preflights = false;
  return out;
}
