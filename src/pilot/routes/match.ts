/**
 * Istio HTTPMatchRequest → Envoy RouteMatch. The conditions Envoy cannot see on a request (the
 * proxy's own labels and namespace, the gateway it runs as, the listener port) are decided here at
 * generation time, as Istio does: a match clause that cannot apply to this proxy is dropped.
 */
import { SailfinError } from '../../common/errors.js';
import type { JsonObject } from '../../proxy/config/fields.js';
import { headerMatcher, stringMatcher, type IstioStringMatch } from './string-match.js';

export interface HttpMatchRequest {
  name?: string;
  uri?: IstioStringMatch;
  scheme?: IstioStringMatch;
  method?: IstioStringMatch;
  authority?: IstioStringMatch;
  headers?: Record<string, IstioStringMatch>;
  withoutHeaders?: Record<string, IstioStringMatch>;
  queryParams?: Record<string, IstioStringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sourceNamespace?: string;
  ignoreUriCase?: boolean;
  statPrefix?: string;
}

/** Who the routes are being generated for. */
export interface ProxyView {
  /** `mesh` for sidecars; `ns/name` of each bound Gateway for gateways. */
  gateways: ReadonlySet<string>;
  labels: Readonly<Record<string, string>>;
  namespace: string;
  /** The port of the listener or route table being built, when there is one. */
  port?: number;
}

/** `name` or `ns/name` in a VirtualService → `ns/name` (the reserved `mesh` stays as it is). */
export function qualifyGateway(name: string, vsNamespace: string): string {
  if (name === 'mesh') return name;
  return name.includes('/') ? name : `${vsNamespace}/${name}`;
}

function labelsMatch(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

/** Whether the clause applies to this proxy at all. */
export function matchAppliesTo(m: HttpMatchRequest, proxy: ProxyView, vsNamespace: string): boolean {
  if (m.port !== undefined && proxy.port !== undefined && m.port !== proxy.port) return false;
  if (m.sourceLabels && !labelsMatch(m.sourceLabels, proxy.labels)) return false;
  if (m.sourceNamespace && m.sourceNamespace !== proxy.namespace) return false;
  if (m.gateways && m.gateways.length > 0) {
    if (!m.gateways.some((g) => proxy.gateways.has(qualifyGateway(g, vsNamespace)))) return false;
  }
  return true;
}

export function routeMatch(m: HttpMatchRequest, field: string): JsonObject {
  const out: JsonObject = {};
  const uri = m.uri;
  if (!uri || Object.keys(uri).length === 0) out.prefix = '/';
  else {
    const u = stringMatcher(uri, `${field}.uri`);
    if ('exact' in u) out.path = u.exact as string;
    else if ('prefix' in u) out.prefix = u.prefix as string;
    else out.safe_regex = u.safe_regex as JsonObject;
  }
  if (m.ignoreUriCase) out.case_sensitive = false;
  const headers: JsonObject[] = [];
  // Envoy sees method, authority and scheme as the pseudo-headers of HTTP/2 for every protocol.
  if (m.method) headers.push({ name: ':method', string_match: stringMatcher(m.method, `${field}.method`) });
  if (m.authority) headers.push({ name: ':authority', string_match: stringMatcher(m.authority, `${field}.authority`) });
  if (m.scheme) headers.push({ name: ':scheme', string_match: stringMatcher(m.scheme, `${field}.scheme`) });
  for (const [name, hm] of Object.entries(m.headers ?? {})) {
    if (name.toLowerCase() === ':authority' || name.toLowerCase() === 'host') {
      headers.push({ name: ':authority', string_match: stringMatcher(hm, `${field}.headers.${name}`) });
      continue;
    }
    headers.push(headerMatcher(name, hm, false, `${field}.headers.${name}`));
  }
  for (const [name, hm] of Object.entries(m.withoutHeaders ?? {})) {
    headers.push(headerMatcher(name, hm, true, `${field}.withoutHeaders.${name}`));
  }
  if (headers.length) out.headers = headers;
  const params: JsonObject[] = [];
  for (const [name, qm] of Object.entries(m.queryParams ?? {})) {
    if (qm && 'prefix' in qm && qm.prefix !== undefined) {
      throw new SailfinError('semantic', 'queryParams support exact and regex only, as in Istio', { field: `${field}.queryParams.${name}` });
    }
    params.push(!qm || Object.keys(qm).length === 0 ? { name, present_match: true } : { name, string_match: stringMatcher(qm, `${field}.queryParams.${name}`) });
  }
  if (params.length) out.query_parameters = params;
  return out;
}
