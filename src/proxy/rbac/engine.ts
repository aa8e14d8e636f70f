/**
 * An Envoy RBAC rule set (envoy.config.rbac.v3.RBAC) compiled into one decision function. A policy
 * matches when any of its permissions and any of its principals match. ALLOW lets a request through
 * only when some policy matches (so no policies denies everything), DENY refuses it when some
 * policy matches, LOG never refuses and only reports whether a policy matched.
 */
import { assertKnownFields, configError, isObject, join, optArray, optString, type JsonObject } from '../config/fields.js';
import type { RouteRequest } from '../http/matchers.js';
import { compilePermission, compilePrincipal } from './rules.js';
import type { ConnectionFacts, DynamicMetadata, RbacMatcher } from './subject.js';

export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';

export interface RbacDecision {
  readonly allowed: boolean;
  /** The policy that decided, or undefined when none matched. */
  readonly policy: string | undefined;
}

interface CompiledPolicy {
  readonly name: string;
  readonly permission: RbacMatcher;
  readonly principal: RbacMatcher;
}

export class RbacEngine {
  constructor(
    readonly action: RbacAction,
    private readonly policies: readonly CompiledPolicy[],
  ) {}

  /** The first policy (by name, as Envoy orders them) whose permissions and principals both match. */
  matchedPolicy(conn: ConnectionFacts, req: RouteRequest | undefined, md: DynamicMetadata | undefined): string | undefined {
    const list = this.policies;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p.permission(conn, req, md) && p.principal(conn, req, md)) return p.name;
    }
    return undefined;
  }

  evaluate(conn: ConnectionFacts, req: RouteRequest | undefined, md: DynamicMetadata | undefined): RbacDecision {
    const policy = this.matchedPolicy(conn, req, md);
    switch (this.action) {
      case 'ALLOW':
        return { allowed: policy !== undefined, policy };
      case 'DENY':
        return { allowed: policy === undefined, policy };
      default:
        return { allowed: true, policy };
    }
  }
}

const ACTIONS: readonly RbacAction[] = ['ALLOW', 'DENY', 'LOG'];

export function compileRbacRules(json: JsonObject, path: string): RbacEngine {
  assertKnownFields(json, ['action', 'policies', 'audit_logging_options'], path);
  if (json.audit_logging_options !== undefined) throw configError(join(path, 'audit_logging_options'), 'audit loggers are not supported by Sailfin');
  const action = (optString(json, 'action', path) ?? 'ALLOW') as RbacAction;
  if (!ACTIONS.includes(action)) throw configError(join(path, 'action'), `unsupported value ${JSON.stringify(action)} (ALLOW, DENY or LOG)`);
  const raw = json.policies ?? {};
  if (!isObject(raw)) throw configError(join(path, 'policies'), 'must be a map of policy name to policy');
  const policies = Object.keys(raw)
    .sort()
    .map((name) => compilePolicy(name, raw[name], join(join(path, 'policies'), name)));
  return new RbacEngine(action, policies);
}

function compilePolicy(name: string, json: unknown, path: string): CompiledPolicy {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, ['permissions', 'principals', 'condition', 'checked_condition'], path);
  if (json.condition !== undefined || json.checked_condition !== undefined) {
    throw configError(join(path, json.condition !== undefined ? 'condition' : 'checked_condition'), 'CEL conditions are not supported by Sailfin');
  }
  const permissions = optArray(json, 'permissions', path).map((p, i) => compilePermission(p, join(join(path, 'permissions'), i)));
  const principals = optArray(json, 'principals', path).map((p, i) => compilePrincipal(p, join(join(path, 'principals'), i)));
  if (permissions.length === 0) throw configError(join(path, 'permissions'), 'needs at least one permission');
  if (principals.length === 0) throw configError(join(path, 'principals'), 'needs at least one principal');
  return { name, permission: anyOf(permissions), principal: anyOf(principals) };
}

function anyOf(list: RbacMatcher[]): RbacMatcher {
  if (list.length === 1) return list[0];
  return (c, r, m) => {
    for (let i = 0; i < list.length; i++) if (list[i](c, r, m)) return true;
    return false;
  };
}

/** Envoy's response code detail for a denied request or connection. */
export function deniedDetails(policy: string | undefined): string {
  return `rbac_access_denied_matched_policy[${policy ?? 'none'}]`;
}
