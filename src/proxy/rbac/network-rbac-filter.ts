/**
 * envoy.filters.network.rbac: decides once per connection, before the terminal filter (tcp_proxy,
 * or the HCM) sees it, from what the connection carries (peer identity, addresses, SNI). A denied
 * connection is closed at once, so tcp_proxy never opens the upstream side.
 * Stats: `<stat_prefix>rbac.allowed|denied|logged|not_logged|shadow_allowed|shadow_denied`.
 */
import { assertKnownFields, configError, join, optObject, optString, reqString, type JsonObject } from '../config/fields.js';
import type { ProxyContext } from '../context.js';
import { registerNetworkFilter, type DownstreamConnection, type NetworkFilter } from '../listener/connection.js';
import type { Counter } from '../stats/store.js';
import { compileRbacRules, deniedDetails, type RbacEngine } from './engine.js';

export const NETWORK_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';

class NetworkRbacFilter implements NetworkFilter {
  constructor(
    private readonly engine: RbacEngine | undefined,
    private readonly shadow: RbacEngine | undefined,
    private readonly stats: { allowed: Counter; denied: Counter; logged: Counter; notLogged: Counter; shadowAllowed: Counter; shadowDenied: Counter },
    private readonly ctx: ProxyContext,
  ) {}

  onNewConnection(conn: DownstreamConnection): boolean {
    if (this.shadow) {
      const s = this.shadow.evaluate(conn, undefined, undefined);
      (s.allowed ? this.stats.shadowAllowed : this.stats.shadowDenied).inc();
    }
    const engine = this.engine;
    if (!engine) return true;
    const d = engine.evaluate(conn, undefined, undefined);
    if (engine.action === 'LOG') {
      (d.policy !== undefined ? this.stats.logged : this.stats.notLogged).inc();
      return true;
    }
    if (d.allowed) {
      this.stats.allowed.inc();
      return true;
    }
    this.stats.denied.inc();
    this.ctx.log.debug({ listener: conn.listenerName, remote: conn.remoteAddress, details: deniedDetails(d.policy) }, 'rbac: connection denied');
    conn.socket.destroy();
    return false;
  }
}

export function compileNetworkRbac(json: JsonObject, ctx: ProxyContext, path: string): NetworkFilter {
  assertKnownFields(json, ['@type', 'rules', 'shadow_rules', 'stat_prefix', 'shadow_rules_stat_prefix', 'enforcement_type', 'matcher', 'shadow_matcher', 'delay_deny'], path);
  for (const k of ['matcher', 'shadow_matcher', 'delay_deny']) {
    if (json[k] !== undefined) throw configError(join(path, k), `"${k}" is not supported by Sailfin`);
  }
  const statPrefix = reqString(json, 'stat_prefix', path);
  const enforcement = optString(json, 'enforcement_type', path) ?? 'ONE_TIME_ON_FIRST_BYTE';
  // Sailfin decides when the connection is handed over, which is before any byte reaches the upstream,
  // so both enforcement types give the same result for the attributes supported here.
  if (enforcement !== 'ONE_TIME_ON_FIRST_BYTE' && enforcement !== 'CONTINUOUS') throw configError(join(path, 'enforcement_type'), `unsupported value ${JSON.stringify(enforcement)}`);
  const rules = optObject(json, 'rules', path);
  const shadowRules = optObject(json, 'shadow_rules', path);
  const engine = rules ? compileRbacRules(rules, join(path, 'rules')) : undefined;
  const shadow = shadowRules ? compileRbacRules(shadowRules, join(path, 'shadow_rules')) : undefined;
  const shadowPrefix = optString(json, 'shadow_rules_stat_prefix', path) ?? '';
  const p = statPrefix + 'rbac.';
  const s = ctx.stats;
  const stats = {
    allowed: s.counter(p + 'allowed'),
    denied: s.counter(p + 'denied'),
    logged: s.counter(p + 'logged'),
    notLogged: s.counter(p + 'not_logged'),
    shadowAllowed: s.counter(p + shadowPrefix + 'shadow_allowed'),
    shadowDenied: s.counter(p + shadowPrefix + 'shadow_denied'),
  };
  return new NetworkRbacFilter(engine, shadow, stats, ctx);
}

registerNetworkFilter(NETWORK_RBAC_TYPE, compileNetworkRbac);
