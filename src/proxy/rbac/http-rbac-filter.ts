/**
 * envoy.filters.http.rbac: checks each request against the rules after earlier filters (jwt_authn)
 * have added their metadata. A denied request gets a local 403 `RBAC: access denied` with the
 * response code details `rbac_access_denied_matched_policy[<policy>|none]` (Envoy sets no response
 * flag for it). A route can replace the rules or turn the filter off with RBACPerRoute.
 * Stats: `http.<hcm stat_prefix>.rbac.<rules_stat_prefix>allowed|denied|logged|not_logged`, and shadow_allowed|shadow_denied.
 */
import { assertKnownFields, configError, join, optBool, optObject, optString, type JsonObject } from '../config/fields.js';
import type { ProxyContext } from '../context.js';
import type { ActiveStream } from '../http/active-stream.js';
import { registerHttpFilter, registerPerRouteConfig } from '../http/filter-registry.js';
import { FilterStatus, type HttpFilter } from '../http/http-filter.js';
import type { Counter } from '../stats/store.js';
import { readMetadata, setMetadata } from './dynamic-metadata.js';
import { perRouteConfig } from './per-route.js';
import { compileRbacRules, deniedDetails, type RbacEngine } from './engine.js';

export const HTTP_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
export const HTTP_RBAC_PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
export const RBAC_DENIED_BODY = 'RBAC: access denied';
const METADATA_NAMESPACE = 'envoy.filters.http.rbac';

export interface HttpRbacConfig {
  readonly engine: RbacEngine | undefined;
  readonly shadow: RbacEngine | undefined;
  readonly rulesStatPrefix: string;
  readonly shadowStatPrefix: string;
}

interface RbacStats {
  allowed: Counter;
  denied: Counter;
  logged: Counter;
  notLogged: Counter;
  shadowAllowed: Counter;
  shadowDenied: Counter;
}

const CONFIG_FIELDS = ['@type', 'rules', 'rules_stat_prefix', 'matcher', 'shadow_rules', 'shadow_matcher', 'shadow_rules_stat_prefix', 'track_per_rule_stats'];

export function compileHttpRbacConfig(json: JsonObject, path: string): HttpRbacConfig {
  assertKnownFields(json, CONFIG_FIELDS, path);
  for (const k of ['matcher', 'shadow_matcher']) {
    if (json[k] !== undefined) throw configError(join(path, k), `"${k}" (the xDS matcher API) is not supported by Sailfin; use rules`);
  }
  optBool(json, 'track_per_rule_stats', path);
  const rules = optObject(json, 'rules', path);
  const shadowRules = optObject(json, 'shadow_rules', path);
  return {
    engine: rules ? compileRbacRules(rules, join(path, 'rules')) : undefined,
    shadow: shadowRules ? compileRbacRules(shadowRules, join(path, 'shadow_rules')) : undefined,
    rulesStatPrefix: optString(json, 'rules_stat_prefix', path) ?? '',
    shadowStatPrefix: optString(json, 'shadow_rules_stat_prefix', path) ?? '',
  };
}

/** RBACPerRoute: `rbac` replaces the filter's config on that route; without it the filter is off (null). */
export function compileHttpRbacPerRoute(json: JsonObject, path: string): HttpRbacConfig | null {
  assertKnownFields(json, ['@type', 'rbac'], path);
  const inner = optObject(json, 'rbac', path);
  return inner ? compileHttpRbacConfig(inner, join(path, 'rbac')) : null;
}

class HttpRbacFilter implements HttpFilter {
  /** Created on the first request: the counters carry the HCM's stat_prefix, which the factory is not given. */
  private stats: RbacStats | undefined;

  constructor(
    readonly name: string,
    private readonly config: HttpRbacConfig,
    private readonly ctx: ProxyContext,
  ) {}

  decodeHeaders(s: ActiveStream): FilterStatus {
    let cfg = this.config;
    const route = s.route;
    if (route) {
      const perRoute = perRouteConfig(route, this.name);
      if (perRoute === null) return FilterStatus.Continue;
      if (perRoute) cfg = perRoute as HttpRbacConfig;
    }
    const stats = (this.stats ??= this.makeStats(s.hcm.statPrefix, cfg));
    const md = readMetadata(s.info);
    const conn = s.conn;
    if (cfg.shadow) {
      const d = cfg.shadow.evaluate(conn, s, md);
      (d.allowed ? stats.shadowAllowed : stats.shadowDenied).inc();
      setMetadata(s.info, METADATA_NAMESPACE, {
        shadow_effective_policy_id: d.policy ?? '',
        shadow_engine_result: d.allowed ? 'allowed' : 'denied',
      });
    }
    const engine = cfg.engine;
    if (!engine) return FilterStatus.Continue;
    const d = engine.evaluate(conn, s, md);
    if (engine.action === 'LOG') {
      // LOG never refuses; it tells the access log whether a policy matched.
      setMetadata(s.info, METADATA_NAMESPACE, { access_log_hint: d.policy !== undefined });
      (d.policy !== undefined ? stats.logged : stats.notLogged).inc();
      return FilterStatus.Continue;
    }
    if (d.allowed) {
      stats.allowed.inc();
      return FilterStatus.Continue;
    }
    stats.denied.inc();
    s.sendLocalReply(403, RBAC_DENIED_BODY, undefined, deniedDetails(d.policy));
    return FilterStatus.StopIteration;
  }

  private makeStats(hcmPrefix: string, cfg: HttpRbacConfig): RbacStats {
    const base = `http.${hcmPrefix}.rbac.`;
    const st = this.ctx.stats;
    return {
      allowed: st.counter(base + cfg.rulesStatPrefix + 'allowed'),
      denied: st.counter(base + cfg.rulesStatPrefix + 'denied'),
      logged: st.counter(base + cfg.rulesStatPrefix + 'logged'),
      notLogged: st.counter(base + cfg.rulesStatPrefix + 'not_logged'),
      shadowAllowed: st.counter(base + cfg.shadowStatPrefix + 'shadow_allowed'),
      shadowDenied: st.counter(base + cfg.shadowStatPrefix + 'shadow_denied'),
    };
  }
}

registerHttpFilter(HTTP_RBAC_TYPE, (json, ctx, path, name) => new HttpRbacFilter(name, compileHttpRbacConfig(json, path), ctx));
registerPerRouteConfig(HTTP_RBAC_PER_ROUTE_TYPE, compileHttpRbacPerRoute);
