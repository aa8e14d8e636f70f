/**
 * envoy.filters.http.jwt_authn: finds the route's requirement, reads tokens from the configured
 * headers/parameters, verifies them (remote key sets are fetched once and cached; a request waits
 * only for the first fetch), and on failure replies 401 with Envoy's status text. With Istio's
 * RequestAuthentication shape (requires_any [provider, allow_missing]) a request without a token
 * passes and one with a bad token is refused; authorization is AuthorizationPolicy's job.
 * A good token's identity goes into dynamic metadata `istio_authn` (`request.auth.principal` =
 * iss/sub, `request.auth.claims`, …) for RBAC, which in Istio the istio_authn filter does.
 */
import { addFlag } from '../../stream-info.js';
import type { ActiveStream } from '../../http/active-stream.js';
import { registerHttpFilter, registerPerRouteConfig } from '../../http/filter-registry.js';
import { FilterStatus, type HttpFilter } from '../../http/http-filter.js';
import { parseQuery } from '../../http/matchers.js';
import { assertKnownFields, configError, optBool, optString, type JsonObject } from '../../config/fields.js';
import type { ProxyContext } from '../../context.js';
import type { Counter } from '../../stats/store.js';
import { setMetadata } from '../dynamic-metadata.js';
import { perRouteConfig } from '../per-route.js';
import { compileJwtAuthn, type JwtAuthnConfig, type JwtProviderConfig, type Requirement, type TokenLocation } from './jwt-authn-config.js';
import { audiencesOf, checkTimes, decodeJwt, JwtError, JwtStatus, verifySignature } from './verify.js';

export const JWT_AUTHN_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
export const JWT_AUTHN_PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig';
export const ISTIO_AUTHN = 'istio_authn';
const JWT_METADATA = 'envoy.filters.http.jwt_authn';

/** Per-route: off (null) or a named requirement from requirement_map. */
function compilePerRoute(json: JsonObject, path: string): { requirementName: string } | null {
  assertKnownFields(json, ['@type', 'disabled', 'requirement_name'], path);
  if (optBool(json, 'disabled', path)) return null;
  const name = optString(json, 'requirement_name', path);
  if (!name) throw configError(path, 'needs disabled: true or requirement_name');
  return { requirementName: name };
}

interface Outcome {
  ok: boolean;
  status?: string;
  payload?: Record<string, unknown>;
  token?: string;
  location?: TokenLocation;
}

/** One request's view: the tokens found and each provider's verdict, computed at most once. */
class Check {
  private readonly tokens = new Map<TokenLocation, string | null>();
  readonly outcomes = new Map<JwtProviderConfig, Outcome>();
  private query: Map<string, string> | undefined;

  constructor(
    private readonly s: ActiveStream,
    private readonly cfg: JwtAuthnConfig,
  ) {}

  tokenAt(loc: TokenLocation): string | undefined {
    let t = this.tokens.get(loc);
    if (t === undefined) {
      t = null;
      if (loc.header !== undefined) {
        const v = this.s.headers.get(loc.header);
        if (v !== undefined) {
          if (!loc.prefix) t = v.trim() || null;
          else if (v.length > loc.prefix.length && v.slice(0, loc.prefix.length).toLowerCase() === loc.prefix.toLowerCase()) t = v.slice(loc.prefix.length).trim() || null;
        }
      } else if (loc.param !== undefined) {
        this.query ??= parseQuery(this.s.path);
        t = this.query.get(loc.param) || null;
      }
      this.tokens.set(loc, t);
    }
    return t ?? undefined;
  }

  providerToken(p: JwtProviderConfig): { token: string; location: TokenLocation } | undefined {
    for (const loc of p.locations) {
      const token = this.tokenAt(loc);
      if (token !== undefined) return { token, location: loc };
    }
    return undefined;
  }

  anyToken(): boolean {
    for (const loc of this.cfg.allLocations) if (this.tokenAt(loc) !== undefined) return true;
    return false;
  }

  /** Remote key sets this requirement needs and does not have yet. */
  missingKeys(r: Requirement, out: Set<JwtProviderConfig>): void {
    const need = (p: JwtProviderConfig): void => {
      if (p.remote && !p.remote.current() && this.providerToken(p)) out.add(p);
    };
    if (r.kind === 'provider') need(r.provider);
    else if (r.kind === 'any' || r.kind === 'all') for (const c of r.list) this.missingKeys(c, out);
    else for (const p of this.cfg.providers.values()) need(p);
  }

  /**
   * allow_missing / allow_missing_or_failed: every provider that finds a token checks it (so a good
   * token still yields an identity); with allow_missing one good token is needed when any is present.
   */
  private anyProvider(orFailed: boolean): Outcome {
    let failure: Outcome | undefined;
    for (const p of this.cfg.providers.values()) {
      if (!this.providerToken(p)) continue;
      const o = this.verify(p, undefined);
      if (o.ok) return o;
      if (!failure || rank(o) > rank(failure)) failure = o;
    }
    if (!failure && this.anyToken()) failure = { ok: false, status: JwtStatus.UnknownIssuer };
    return orFailed || !failure ? { ok: true } : failure;
  }

  evaluate(r: Requirement): Outcome {
    switch (r.kind) {
      case 'provider':
        return this.verify(r.provider, r.audiences);
      case 'allow_missing_or_failed':
        return this.anyProvider(true);
      case 'allow_missing':
        return this.anyProvider(false);
      case 'all':
        for (const c of r.list) {
          const o = this.evaluate(c);
          if (!o.ok) return o;
        }
        return { ok: true };
      default: {
        let failure: Outcome | undefined;
        for (const c of r.list) {
          const o = this.evaluate(c);
          if (o.ok) return o;
          if (!failure || rank(o) > rank(failure)) failure = o;
        }
        return failure ?? { ok: false, status: JwtStatus.Missing };
      }
    }
  }

  private verify(p: JwtProviderConfig, audiences: readonly string[] | undefined): Outcome {
    const memo = this.outcomes.get(p);
    if (memo && audiences === undefined) return memo;
    const found = this.providerToken(p);
    let out: Outcome;
    if (!found) out = { ok: false, status: JwtStatus.Missing };
    else {
      try {
        const jwt = decodeJwt(found.token);
        const payload = jwt.payload;
        if (p.issuer !== undefined && payload.iss !== p.issuer) throw new JwtError(JwtStatus.UnknownIssuer);
        checkTimes(payload, Date.now() / 1000, p.clockSkewSec, p.requireExpiration);
        const allowed = audiences ?? p.audiences;
        if (allowed.length > 0 && !audiencesOf(payload).some((a) => allowed.includes(a))) throw new JwtError(JwtStatus.BadAudience);
        const keys = p.localKeys ?? p.remote?.current();
        if (!keys) throw new JwtError(JwtStatus.JwksFetch);
        verifySignature(jwt, keys);
        out = { ok: true, payload, token: found.token, location: found.location };
      } catch (err) {
        if (!(err instanceof JwtError)) throw err;
        out = { ok: false, status: err.message };
      }
    }
    this.outcomes.set(p, out);
    return out;
  }
}

interface JwtStats {
  allowed: Counter;
  denied: Counter;
  cors: Counter;
  jwksFetchFailed: Counter;
}

function jwtStats(ctx: ProxyContext, hcmPrefix: string): JwtStats {
  const p = `http.${hcmPrefix}.jwt_authn.`;
  const st = ctx.stats;
  return { allowed: st.counter(p + 'allowed'), denied: st.counter(p + 'denied'), cors: st.counter(p + 'cors_preflight_bypassed'), jwksFetchFailed: st.counter(p + 'jwks_fetch_failed') };
}

/** Which failure to report when every alternative failed: the token's own problem beats "not for this provider". */
function rank(o: Outcome): number {
  return o.status === JwtStatus.Missing ? 0 : o.status === JwtStatus.UnknownIssuer ? 1 : 2;
}

class JwtAuthnFilter implements HttpFilter {
  /** Made on the first request: Envoy names them after the HCM (`http.<stat_prefix>.jwt_authn.*`), which the factory is not told. */
  private stats: JwtStats | undefined;

  constructor(
    readonly name: string,
    private readonly cfg: JwtAuthnConfig,
    private readonly ctx: ProxyContext,
  ) {}

  decodeHeaders(s: ActiveStream): FilterStatus {
    const cfg = this.cfg;
    let requirement: Requirement | undefined;
    const route = s.route;
    const perRoute = route ? perRouteConfig(route, this.name) : undefined;
    if (perRoute === null) return FilterStatus.Continue;
    if (perRoute) requirement = cfg.requirementMap.get((perRoute as { requirementName: string }).requirementName);
    else {
      for (const rule of cfg.rules) {
        if (rule.match(s)) {
          requirement = rule.requires;
          break;
        }
      }
    }
    if (!requirement) return FilterStatus.Continue;
    this.stats ??= jwtStats(this.ctx, s.hcm.statPrefix);
    if (cfg.bypassCorsPreflight && s.method === 'OPTIONS' && s.headers.has('origin') && s.headers.has('access-control-request-method')) {
      this.stats.cors.inc();
      return FilterStatus.Continue;
    }
    const check = new Check(s, cfg);
    const fetches = new Set<JwtProviderConfig>();
    check.missingKeys(requirement, fetches);
    if (fetches.size === 0) return this.finish(s, check, requirement) ? FilterStatus.Continue : FilterStatus.StopIteration;
    const stats = this.stats;
    void Promise.all([...fetches].map((p) => p.remote!.refresh())).then(() => {
      for (const p of fetches) {
        if (!p.remote!.current()) {
          stats.jwksFetchFailed.inc();
          this.ctx.log.warn({ provider: p.name, uri: p.remote!.uri, err: p.remote!.lastError }, 'jwt_authn: JWKS fetch failed');
        }
      }
      if (s.done) return;
      try {
        if (this.finish(s, check, requirement)) s.continueDecoding();
      } catch (err) {
        this.ctx.log.error({ err: (err as Error).message }, 'jwt_authn: check failed');
        s.resetStream();
      }
    });
    return FilterStatus.StopIteration;
  }

  /** Applies the verdict; true when the request may go on. */
  private finish(s: ActiveStream, check: Check, requirement: Requirement): boolean {
    const outcome = check.evaluate(requirement);
    if (!outcome.ok) {
      this.stats!.denied.inc();
      addFlag(s.info, 'UAEX');
      const status = outcome.status ?? JwtStatus.Verification;
      (s.pendingResponseHeaders ??= []).push('www-authenticate', `Bearer realm="${s.scheme}://${s.host}${s.path.split('?')[0]}", error="invalid_token"`);
      s.sendLocalReply(401, this.cfg.stripFailureResponse ? undefined : status, undefined, 'jwt_authn_access_denied{' + status.replace(/ /g, '_') + '}');
      return false;
    }
    this.stats!.allowed.inc();
    let first = true;
    for (const [p, o] of check.outcomes) {
      if (!o.ok || !o.payload) continue;
      this.applyGoodToken(s, p, o, first);
      first = false;
    }
    return true;
  }

  private applyGoodToken(s: ActiveStream, p: JwtProviderConfig, o: Outcome, first: boolean): void {
    const payload = o.payload!;
    if (first) setMetadata(s.info, ISTIO_AUTHN, istioAuthnAttributes(payload));
    if (p.payloadInMetadata) setMetadata(s.info, JWT_METADATA, { [p.payloadInMetadata]: payload });
    if (p.forwardPayloadHeader) s.headers.set(p.forwardPayloadHeader, Buffer.from(JSON.stringify(payload)).toString('base64url'));
    for (const c of p.claimToHeaders) {
      const v = payload[c.claim];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') s.headers.set(c.header, String(v));
    }
    if (!p.forward && o.location?.header !== undefined) s.headers.remove(o.location.header);
  }
}

/** The attributes Istio's authn filter derives from a verified token, as AuthorizationPolicy reads them. */
export function istioAuthnAttributes(payload: Record<string, unknown>): Record<string, unknown> {
  const claims: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(payload)) {
    // Istio keeps every claim as a list so that `request.auth.claims[groups]` matches any member.
    if (Array.isArray(v)) claims[k] = v.filter((x) => typeof x === 'string');
    else if (typeof v === 'string') claims[k] = [v];
    else if (typeof v === 'number' || typeof v === 'boolean') claims[k] = [String(v)];
  }
  const iss = typeof payload.iss === 'string' ? payload.iss : '';
  const sub = typeof payload.sub === 'string' ? payload.sub : '';
  return {
    'request.auth.principal': `${iss}/${sub}`,
    'request.auth.audiences': audiencesOf(payload).join(','),
    'request.auth.presenter': typeof payload.azp === 'string' ? payload.azp : '',
    'request.auth.claims': claims,
    'request.auth.raw_claims': JSON.stringify(payload),
  };
}

registerHttpFilter(JWT_AUTHN_TYPE, (json, ctx, path, name) => new JwtAuthnFilter(name, compileJwtAuthn(json, path), ctx));
registerPerRouteConfig(JWT_AUTHN_PER_ROUTE_TYPE, compilePerRoute);
