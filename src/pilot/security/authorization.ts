/**
 * AuthorizationPolicy → Envoy RBAC, as Istio translates it: one RBAC filter for DENY policies placed
 * before one for ALLOW policies (DENY wins), AUDIT as a LOG filter. Within a rule, `from`, `to` and
 * `when` are ANDed, the entries of each list ORed, and `notX` fields negate. An ALLOW policy with no rules
 * (`spec: {}`) allows nothing, so the workload is denied everything. For TCP chains, rules that need HTTP
 * attributes cannot be checked: an ALLOW rule that needs them is dropped (fail closed), a DENY rule that
 * needs them is kept with only its TCP conditions (deny more, never less).
 */
import type { LoadedResource } from '../../config/resource.js';
import type { JsonObject } from '../../proxy/config/fields.js';

type Action = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

interface Source {
  principals?: string[];
  notPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
}
interface Operation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}
interface Rule {
  from?: Array<{ source?: Source }>;
  to?: Array<{ operation?: Operation }>;
  when?: Array<{ key: string; values?: string[]; notValues?: string[] }>;
}
interface AuthorizationPolicySpec {
  selector?: { matchLabels?: Record<string, string> };
  action?: Action;
  rules?: Rule[];
}

export const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';
export const NETWORK_RBAC_FILTER = 'envoy.filters.network.rbac';
const HTTP_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const NETWORK_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';

/** Istio's string forms: exact, `prefix*`, `*suffix`, `*`. */
function stringMatch(value: string): JsonObject {
  if (value === '*') return { safe_regex: { regex: '.+' } };
  if (value.endsWith('*')) return { prefix: value.slice(0, -1) };
  if (value.startsWith('*')) return { suffix: value.slice(1) };
  return { exact: value };
}

function cidr(block: string): JsonObject {
  const [address, len] = block.split('/');
  return { address_prefix: address, prefix_len: Number(len ?? (address.includes(':') ? 128 : 32)) };
}

const any = (ids: JsonObject[]): JsonObject => (ids.length === 1 ? ids[0] : { or_ids: { ids } });
const anyRule = (rules: JsonObject[]): JsonObject => (rules.length === 1 ? rules[0] : { or_rules: { rules } });
const not = (id: JsonObject): JsonObject => ({ not_id: id });
const notRule = (r: JsonObject): JsonObject => ({ not_rule: r });

/** Istio writes principals without the scheme (`cluster.local/ns/default/sa/x`); certificates carry `spiffe://`. */
function principalName(p: string): JsonObject {
  return { authenticated: { principal_name: stringMatch(p === '*' ? '*' : `spiffe://${p.replace(/^spiffe:\/\//, '')}`) } };
}

function namespaceId(ns: string): JsonObject {
  return { authenticated: { principal_name: { safe_regex: { regex: `.*/ns/${ns.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/.*` } } } };
}

function requestPrincipal(p: string): JsonObject {
  return { metadata: { filter: 'istio_authn', path: [{ key: 'request.auth.principal' }], value: { string_match: stringMatch(p) } } };
}

function header(name: string, value: string): JsonObject {
  return { header: { name, string_match: stringMatch(value) } };
}

function sourceIds(s: Source): { ids: JsonObject[]; http: boolean } {
  const ids: JsonObject[] = [];
  let http = false;
  const add = (list: string[] | undefined, make: (v: string) => JsonObject, negate = false) => {
    if (!list?.length) return;
    const one = any(list.map(make));
    ids.push(negate ? not(one) : one);
  };
  add(s.principals, principalName);
  add(s.notPrincipals, principalName, true);
  add(s.namespaces, namespaceId);
  add(s.notNamespaces, namespaceId, true);
  add(s.ipBlocks, (b) => ({ direct_remote_ip: cidr(b) }));
  add(s.notIpBlocks, (b) => ({ direct_remote_ip: cidr(b) }), true);
  add(s.remoteIpBlocks, (b) => ({ remote_ip: cidr(b) }));
  add(s.notRemoteIpBlocks, (b) => ({ remote_ip: cidr(b) }), true);
  if (s.requestPrincipals?.length || s.notRequestPrincipals?.length) http = true;
  add(s.requestPrincipals, requestPrincipal);
  add(s.notRequestPrincipals, requestPrincipal, true);
  return { ids, http };
}

function pathRule(p: string): JsonObject {
  if (p === '*') return { url_path: { path: { safe_regex: { regex: '.*' } } } };
  if (p.endsWith('*')) return { url_path: { path: { prefix: p.slice(0, -1) } } };
  if (p.startsWith('*')) return { url_path: { path: { suffix: p.slice(1) } } };
  return { url_path: { path: { exact: p } } };
}

function operationRules(o: Operation): { rules: JsonObject[]; http: boolean } {
  const rules: JsonObject[] = [];
  let http = false;
  const add = (list: string[] | undefined, make: (v: string) => JsonObject, isHttp: boolean, negate = false) => {
    if (!list?.length) return;
    if (isHttp) http = true;
    const one = anyRule(list.map(make));
    rules.push(negate ? notRule(one) : one);
  };
  add(o.hosts, (h) => header(':authority', h), true);
  add(o.notHosts, (h) => header(':authority', h), true, true);
  add(o.methods, (m) => header(':method', m), true);
  add(o.notMethods, (m) => header(':method', m), true, true);
  add(o.paths, pathRule, true);
  add(o.notPaths, pathRule, true, true);
  add(o.ports, (p) => ({ destination_port: Number(p) }), false);
  add(o.notPorts, (p) => ({ destination_port: Number(p) }), false, true);
  return { rules, http };
}

/** `when` keys become principal ids (who) or permission rules (what), as Istio splits them. */
function conditions(when: NonNullable<Rule['when']>): { ids: JsonObject[]; rules: JsonObject[]; http: boolean } {
  const ids: JsonObject[] = [];
  const rules: JsonObject[] = [];
  let http = false;
  for (const c of when) {
    const headerKey = /^request\.headers\[(.+)\]$/.exec(c.key);
    const claim = /^request\.auth\.claims\[(.+)\]$/.exec(c.key);
    let make: ((v: string) => JsonObject) | undefined;
    let target: 'id' | 'rule' = 'id';
    if (headerKey) {
      http = true;
      make = (v) => header(headerKey[1].toLowerCase(), v);
    } else if (claim) {
      http = true;
      make = (v) => ({ metadata: { filter: 'istio_authn', path: [{ key: 'request.auth.claims' }, { key: claim[1] }], value: { list_match: { one_of: { string_match: stringMatch(v) } } } } });
    } else if (c.key === 'source.ip') make = (v) => ({ direct_remote_ip: cidr(v) });
    else if (c.key === 'remote.ip') make = (v) => ({ remote_ip: cidr(v) });
    else if (c.key === 'source.namespace') make = namespaceId;
    else if (c.key === 'source.principal') make = principalName;
    else if (c.key === 'request.auth.principal') {
      http = true;
      make = requestPrincipal;
    } else if (c.key === 'destination.port') {
      target = 'rule';
      make = (v) => ({ destination_port: Number(v) });
    } else if (c.key === 'destination.ip') {
      target = 'rule';
      make = (v) => ({ destination_ip: cidr(v) });
    } else if (c.key === 'connection.sni') {
      target = 'rule';
      make = (v) => ({ requested_server_name: stringMatch(v) });
    } else continue; // keys Sailfin cannot check are reported by the analyzer; they match nothing here
    const build = make;
    if (target === 'id') {
      if (c.values?.length) ids.push(any(c.values.map(build)));
      if (c.notValues?.length) ids.push(not(any(c.notValues.map(build))));
    } else {
      if (c.values?.length) rules.push(anyRule(c.values.map(build)));
      if (c.notValues?.length) rules.push(notRule(anyRule(c.notValues.map(build))));
    }
  }
  return { ids, rules, http };
}

function rulePolicy(rule: Rule, forTcp: boolean, action: Action): JsonObject | undefined {
  const fromIds: JsonObject[] = [];
  const toRules: JsonObject[] = [];
  let http = false;
  const froms = (rule.from ?? []).map((f) => sourceIds(f.source ?? {}));
  if (froms.length) {
    http ||= froms.some((f) => f.http);
    const alts = froms.map((f) => (f.ids.length === 1 ? f.ids[0] : { and_ids: { ids: f.ids.length ? f.ids : [{ any: true }] } }));
    fromIds.push(any(alts));
  }
  const tos = (rule.to ?? []).map((t) => operationRules(t.operation ?? {}));
  if (tos.length) {
    http ||= tos.some((t) => t.http);
    const alts = tos.map((t) => (forTcp ? t.rules.filter((r) => !JSON.stringify(r).includes('"header"') && !JSON.stringify(r).includes('url_path')) : t.rules)).map((rs) => (rs.length === 1 ? rs[0] : { and_rules: { rules: rs.length ? rs : [{ any: true }] } }));
    toRules.push(anyRule(alts));
  }
  const when = conditions(rule.when ?? []);
  http ||= when.http;
  fromIds.push(...when.ids);
  toRules.push(...when.rules);
  if (forTcp && http && action === 'ALLOW') return undefined;
  const strip = (x: JsonObject) => forTcp && /"header"|url_path|"metadata"/.test(JSON.stringify(x));
  const principals = forTcp ? fromIds.filter((i) => !strip(i)) : fromIds;
  const permissions = forTcp ? toRules.filter((r) => !strip(r)) : toRules;
  return {
    permissions: [permissions.length === 0 ? { any: true } : permissions.length === 1 ? permissions[0] : { and_rules: { rules: permissions } }],
    principals: [principals.length === 0 ? { any: true } : principals.length === 1 ? principals[0] : { and_ids: { ids: principals } }],
  };
}

function selects(spec: AuthorizationPolicySpec, labels: Record<string, string>): boolean {
  const sel = spec.selector?.matchLabels;
  return !sel || Object.entries(sel).every(([k, v]) => labels[k] === v);
}

/** The policies in force for a workload: its namespace's (selector permitting) and the root namespace's. */
export function policiesFor(policies: readonly LoadedResource[], rootNamespace: string, namespace: string, labels: Record<string, string>): Array<{ name: string; namespace: string; spec: AuthorizationPolicySpec }> {
  return policies
    .map((p) => ({ name: p.resource.metadata.name, namespace: p.resource.metadata.namespace ?? 'default', spec: (p.resource.spec ?? {}) as AuthorizationPolicySpec }))
    .filter((p) => (p.namespace === namespace || p.namespace === rootNamespace) && selects(p.spec, labels));
}

/** The RBAC filters (DENY, ALLOW, AUDIT order) for a workload's HTTP or TCP chains; empty when no policy applies. */
export function rbacFilters(policies: ReturnType<typeof policiesFor>, kind: 'http' | 'tcp'): JsonObject[] {
  const out: JsonObject[] = [];
  for (const action of ['DENY', 'ALLOW', 'AUDIT'] as const) {
    const relevant = policies.filter((p) => (p.spec.action ?? 'ALLOW') === action);
    if (!relevant.length) continue;
    const map: JsonObject = {};
    for (const p of relevant) {
      (p.spec.rules ?? []).forEach((rule, i) => {
        const policy = rulePolicy(rule, kind === 'tcp', action);
        if (policy) map[`ns[${p.namespace}]-policy[${p.name}]-rule[${i}]`] = policy;
      });
    }
    const rules = { action: action === 'AUDIT' ? 'LOG' : action, policies: map };
    out.push(
      kind === 'http'
        ? { name: HTTP_RBAC_FILTER, typed_config: { '@type': HTTP_RBAC_TYPE, rules } }
        : { name: NETWORK_RBAC_FILTER, typed_config: { '@type': NETWORK_RBAC_TYPE, stat_prefix: 'tcp.', rules } },
    );
  }
  return out;
}
