/**
 * envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication compiled once: providers (issuer,
 * audiences, where tokens are read from, local or remote JWKS, what to do with a good token) and the
 * requirement tree each route prefix demands (provider, requires_any/all, allow_missing,
 * allow_missing_or_failed).
 */
import { assertKnownFields, configError, isObject, join, optArray, optBool, optDurationMs, optNumber, optObject, optString, reqObject, reqString, type Json, type JsonObject } from '../../config/fields.js';
import { compileHeaderMatcher, compileSafeRegexMatcher, type RequestPredicate } from '../../http/matchers.js';
import { readDataSource } from '../../tls/data-source.js';
import { parseJwks, type Jwk } from './jwks.js';
import { RemoteJwks } from './remote-jwks.js';

export interface TokenLocation {
  /** Lower-case header name, or undefined for a query parameter. */
  readonly header?: string;
  readonly prefix?: string;
  readonly param?: string;
}

export interface JwtProviderConfig {
  readonly name: string;
  readonly issuer: string | undefined;
  readonly audiences: readonly string[];
  readonly requireExpiration: boolean;
  readonly clockSkewSec: number;
  readonly localKeys: readonly Jwk[] | undefined;
  readonly remote: RemoteJwks | undefined;
  readonly locations: readonly TokenLocation[];
  readonly forward: boolean;
  readonly forwardPayloadHeader: string | undefined;
  readonly payloadInMetadata: string | undefined;
  readonly claimToHeaders: ReadonlyArray<{ header: string; claim: string }>;
}

export type Requirement =
  | { readonly kind: 'provider'; readonly provider: JwtProviderConfig; readonly audiences?: readonly string[] }
  | { readonly kind: 'any' | 'all'; readonly list: readonly Requirement[] }
  | { readonly kind: 'allow_missing' | 'allow_missing_or_failed' };

export interface JwtRule {
  readonly match: RequestPredicate;
  readonly requires: Requirement | undefined;
}

export interface JwtAuthnConfig {
  readonly providers: ReadonlyMap<string, JwtProviderConfig>;
  readonly rules: readonly JwtRule[];
  readonly requirementMap: ReadonlyMap<string, Requirement>;
  readonly bypassCorsPreflight: boolean;
  readonly stripFailureResponse: boolean;
  /** Every place any provider reads a token from, to tell "no token at all" (allow_missing). */
  readonly allLocations: readonly TokenLocation[];
}

const PROVIDER_FIELDS = [
  'issuer', 'audiences', 'subjects', 'require_expiration', 'max_lifetime', 'remote_jwks', 'local_jwks', 'forward', 'from_headers', 'from_params',
  'from_cookies', 'forward_payload_header', 'pad_forward_payload_header', 'payload_in_metadata', 'normalize_payload_in_metadata',
  'header_in_metadata', 'failed_status_in_metadata', 'clock_skew_seconds', 'jwt_cache_config', 'claim_to_headers', 'clear_route_cache',
];
const UNSUPPORTED_PROVIDER_FIELDS = ['subjects', 'max_lifetime', 'from_cookies', 'normalize_payload_in_metadata', 'header_in_metadata', 'failed_status_in_metadata'];

/** Envoy's default: `Authorization: Bearer <token>` and the `access_token` query parameter. */
const DEFAULT_LOCATIONS: readonly TokenLocation[] = [{ header: 'authorization', prefix: 'Bearer ' }, { param: 'access_token' }];
const DEFAULT_CACHE_MS = 10 * 60 * 1000;

function compileProvider(name: string, json: Json, path: string): JwtProviderConfig {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, PROVIDER_FIELDS, path);
  for (const k of UNSUPPORTED_PROVIDER_FIELDS) if (json[k] !== undefined) throw configError(join(path, k), `"${k}" is not supported by Sailfin`);
  optObject(json, 'jwt_cache_config', path); // a cache of verified tokens is an optimisation; accepted and not needed
  optBool(json, 'pad_forward_payload_header', path);
  optBool(json, 'clear_route_cache', path);
  let localKeys: Jwk[] | undefined;
  let remote: RemoteJwks | undefined;
  const local = optObject(json, 'local_jwks', path);
  const remoteJson = optObject(json, 'remote_jwks', path);
  if ((local === undefined) === (remoteJson === undefined)) throw configError(path, 'needs exactly one of local_jwks, remote_jwks');
  if (local) {
    const lp = join(path, 'local_jwks');
    try {
      localKeys = parseJwks(readDataSource(local, lp));
    } catch (err) {
      throw configError(lp, (err as Error).message);
    }
  } else if (remoteJson) {
    const rp = join(path, 'remote_jwks');
    assertKnownFields(remoteJson, ['http_uri', 'cache_duration', 'async_fetch', 'retry_policy'], rp);
    if (remoteJson.async_fetch !== undefined || remoteJson.retry_policy !== undefined) throw configError(join(rp, remoteJson.async_fetch !== undefined ? 'async_fetch' : 'retry_policy'), 'is not supported by Sailfin');
    const hu = reqObject(remoteJson, 'http_uri', rp);
    const hp = join(rp, 'http_uri');
    assertKnownFields(hu, ['uri', 'cluster', 'timeout'], hp);
    const uri = reqString(hu, 'uri', hp);
    if (!/^https?:\/\//.test(uri)) throw configError(join(hp, 'uri'), `must be an http:// or https:// URL (got ${JSON.stringify(uri)})`);
    optString(hu, 'cluster', hp);
    remote = new RemoteJwks(uri, optDurationMs(hu, 'timeout', hp) ?? 1000, optDurationMs(remoteJson, 'cache_duration', rp) ?? DEFAULT_CACHE_MS);
  }
  const locations: TokenLocation[] = [];
  optArray(json, 'from_headers', path).forEach((h, i) => {
    const hp = join(join(path, 'from_headers'), i);
    if (!isObject(h)) throw configError(hp, 'must be an object');
    assertKnownFields(h, ['name', 'value_prefix'], hp);
    locations.push({ header: reqString(h, 'name', hp).toLowerCase(), prefix: optString(h, 'value_prefix', hp) });
  });
  optArray(json, 'from_params', path).forEach((p, i) => {
    if (typeof p !== 'string' || !p) throw configError(join(join(path, 'from_params'), i), 'must be a non-empty string');
    locations.push({ param: p });
  });
  return {
    name,
    issuer: optString(json, 'issuer', path) || undefined,
    audiences: strings(json, 'audiences', path),
    requireExpiration: optBool(json, 'require_expiration', path) ?? false,
    clockSkewSec: optNumber(json, 'clock_skew_seconds', path, { min: 0, integer: true }) ?? 60,
    localKeys,
    remote,
    locations: locations.length ? locations : DEFAULT_LOCATIONS,
    forward: optBool(json, 'forward', path) ?? false,
    forwardPayloadHeader: optString(json, 'forward_payload_header', path)?.toLowerCase() || undefined,
    payloadInMetadata: optString(json, 'payload_in_metadata', path) || undefined,
    claimToHeaders: optArray(json, 'claim_to_headers', path).map((c, i) => {
      const cp = join(join(path, 'claim_to_headers'), i);
      if (!isObject(c)) throw configError(cp, 'must be an object');
      assertKnownFields(c, ['header_name', 'claim_name'], cp);
      return { header: reqString(c, 'header_name', cp).toLowerCase(), claim: reqString(c, 'claim_name', cp) };
    }),
  };
}

function strings(json: JsonObject, key: string, path: string): string[] {
  return optArray(json, key, path).map((v, i) => {
    if (typeof v !== 'string') throw configError(join(join(path, key), i), 'must be a string');
    return v;
  });
}

const REQUIREMENT_KINDS = ['provider_name', 'provider_and_audiences', 'requires_any', 'requires_all', 'allow_missing_or_failed', 'allow_missing'];

function compileRequirement(json: Json, providers: ReadonlyMap<string, JwtProviderConfig>, path: string): Requirement {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, REQUIREMENT_KINDS, path);
  const kinds = REQUIREMENT_KINDS.filter((k) => json[k] !== undefined);
  if (kinds.length !== 1) throw configError(path, `needs exactly one of ${REQUIREMENT_KINDS.join(', ')}`);
  const kind = kinds[0];
  const p = join(path, kind);
  const provider = (name: string, np: string): JwtProviderConfig => {
    const found = providers.get(name);
    if (!found) throw configError(np, `no provider named ${JSON.stringify(name)}`);
    return found;
  };
  switch (kind) {
    case 'provider_name':
      return { kind: 'provider', provider: provider(reqString(json, kind, path), p) };
    case 'provider_and_audiences': {
      const pa = reqObject(json, kind, path);
      assertKnownFields(pa, ['provider_name', 'audiences'], p);
      return { kind: 'provider', provider: provider(reqString(pa, 'provider_name', p), join(p, 'provider_name')), audiences: strings(pa, 'audiences', p) };
    }
    case 'requires_any':
    case 'requires_all': {
      const set = reqObject(json, kind, path);
      assertKnownFields(set, ['requirements'], p);
      const list = optArray(set, 'requirements', p).map((r, i) => compileRequirement(r, providers, join(join(p, 'requirements'), i)));
      if (list.length < 2) throw configError(join(p, 'requirements'), 'needs at least two requirements');
      return { kind: kind === 'requires_any' ? 'any' : 'all', list };
    }
    default:
      return { kind: kind as 'allow_missing' | 'allow_missing_or_failed' };
  }
}

function compileRouteMatch(json: JsonObject, path: string): RequestPredicate {
  assertKnownFields(json, ['prefix', 'path', 'safe_regex', 'case_sensitive', 'headers'], path);
  const caseSensitive = optBool(json, 'case_sensitive', path) ?? true;
  const norm = (s: string): string => (caseSensitive ? s : s.toLowerCase());
  const pathOnly = (full: string): string => {
    const q = full.indexOf('?');
    return norm(q < 0 ? full : full.slice(0, q));
  };
  let test: (p: string) => boolean;
  if (json.prefix !== undefined) {
    const want = norm(optString(json, 'prefix', path) ?? '');
    test = (p) => p.startsWith(want);
  } else if (json.path !== undefined) {
    const want = norm(optString(json, 'path', path) ?? '');
    test = (p) => p === want;
  } else if (json.safe_regex !== undefined) {
    const re = compileSafeRegexMatcher(json.safe_regex, join(path, 'safe_regex'));
    test = (p) => re.test(p);
  } else throw configError(path, 'needs one of prefix, path, safe_regex');
  const headers = optArray(json, 'headers', path).map((h, i) => compileHeaderMatcher(h, join(join(path, 'headers'), i)));
  return (req) => {
    if (!test(pathOnly(req.path))) return false;
    for (const h of headers) if (!h(req)) return false;
    return true;
  };
}

export function compileJwtAuthn(json: JsonObject, path: string): JwtAuthnConfig {
  assertKnownFields(json, ['@type', 'providers', 'rules', 'filter_state_rules', 'bypass_cors_preflight', 'requirement_map', 'strip_failure_response'], path);
  if (json.filter_state_rules !== undefined) throw configError(join(path, 'filter_state_rules'), 'is not supported by Sailfin');
  const providers = new Map<string, JwtProviderConfig>();
  const rawProviders = optObject(json, 'providers', path) ?? {};
  for (const [name, pj] of Object.entries(rawProviders)) providers.set(name, compileProvider(name, pj, join(join(path, 'providers'), name)));
  const requirementMap = new Map<string, Requirement>();
  for (const [name, rj] of Object.entries(optObject(json, 'requirement_map', path) ?? {})) {
    requirementMap.set(name, compileRequirement(rj, providers, join(join(path, 'requirement_map'), name)));
  }
  const rules = optArray(json, 'rules', path).map((r, i): JwtRule => {
    const rp = join(join(path, 'rules'), i);
    if (!isObject(r)) throw configError(rp, 'must be an object');
    assertKnownFields(r, ['match', 'requires', 'requirement_name'], rp);
    const match = compileRouteMatch(reqObject(r, 'match', rp), join(rp, 'match'));
    if (r.requires !== undefined) return { match, requires: compileRequirement(r.requires, providers, join(rp, 'requires')) };
    const name = optString(r, 'requirement_name', rp);
    if (name === undefined) return { match, requires: undefined };
    const req = requirementMap.get(name);
    if (!req) throw configError(join(rp, 'requirement_name'), `no requirement named ${JSON.stringify(name)} in requirement_map`);
    return { match, requires: req };
  });
  const seen = new Set<string>();
  const allLocations: TokenLocation[] = [];
  for (const p of providers.values()) {
    for (const l of p.locations) {
      const key = `${l.header ?? ''}|${l.prefix ?? ''}|${l.param ?? ''}`;
      if (!seen.has(key)) {
        seen.add(key);
        allLocations.push(l);
      }
    }
  }
  return {
    providers,
    rules,
    requirementMap,
    bypassCorsPreflight: optBool(json, 'bypass_cors_preflight', path) ?? false,
    stripFailureResponse: optBool(json, 'strip_failure_response', path) ?? false,
    allLocations,
  };
}
