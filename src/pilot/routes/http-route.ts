/**
 * A VirtualService's `http` routes → Envoy Routes for one proxy. Each match clause becomes its own
 * Envoy route (Envoy routes have a single match), in the VirtualService's order, and clauses that
 * cannot apply to this proxy (port, sourceLabels, gateways, sourceNamespace) are dropped as Istio does.
 */
import { SailfinError } from '../../common/errors.js';
import type { JsonObject } from '../../proxy/config/fields.js';
import { istioToProtoDuration } from '../duration.js';
import { corsConfig, CORS_FILTER, type IstioCorsPolicy } from './cors.js';
import { FAULT_FILTER, faultConfig, fractionalPercent, type HttpFaultInjection } from './fault.js';
import { applyHeaders, type IstioHeaders } from './headers.js';
import { matchAppliesTo, routeMatch, type HttpMatchRequest, type ProxyView } from './match.js';
import { retryPolicy, type HttpRetry } from './retry.js';

export interface Destination {
  host: string;
  subset?: string;
  port?: { number?: number };
}

export interface HttpRouteDestination {
  destination: Destination;
  weight?: number;
  headers?: IstioHeaders;
}

export interface HttpRoute {
  name?: string;
  match?: HttpMatchRequest[];
  route?: HttpRouteDestination[];
  redirect?: { uri?: string; authority?: string; port?: number; derivePort?: string; scheme?: string; redirectCode?: number };
  directResponse?: { status: number; body?: { string?: string; bytes?: string } };
  rewrite?: { uri?: string; authority?: string; uriRegexRewrite?: { match: string; rewrite: string } };
  timeout?: string;
  retries?: HttpRetry;
  fault?: HttpFaultInjection;
  mirror?: Destination;
  mirrorPercentage?: { value?: number };
  mirrorPercent?: number;
  mirrors?: Array<{ destination: Destination; percentage?: { value?: number } }>;
  corsPolicy?: IstioCorsPolicy;
  headers?: IstioHeaders;
}

/** How destinations become clusters; supplied by the generator, which knows services and DestinationRules. */
export interface RouteTargets {
  cluster(dest: Destination, field: string): string;
  /** Envoy hash_policy for a destination whose DestinationRule asks for consistent hashing. */
  hashPolicy?(dest: Destination): JsonObject[] | undefined;
}

export interface HttpRouteBuildOptions {
  vsName: string;
  vsNamespace: string;
  proxy: ProxyView;
  targets: RouteTargets;
  /** `host:port`, shown as the decorator operation (`x-envoy-decorator-operation`). */
  decoratorHost: string;
  /** Field path of the http list, for error messages. */
  field?: string;
}

const REDIRECT_CODES: Record<number, string> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

function redirectAction(r: NonNullable<HttpRoute['redirect']>, field: string): JsonObject {
  const out: JsonObject = {};
  if (r.uri !== undefined) out.path_redirect = r.uri;
  if (r.authority !== undefined) out.host_redirect = r.authority;
  if (r.port !== undefined) out.port_redirect = r.port;
  if (r.scheme !== undefined) out.scheme_redirect = r.scheme;
  const code = r.redirectCode ?? 301;
  const name = REDIRECT_CODES[code];
  if (!name) throw new SailfinError('schema', `redirectCode ${code} is not one of 301, 302, 303, 307, 308`, { field: `${field}.redirect.redirectCode` });
  if (code !== 301) out.response_code = name;
  return out;
}

function mirrorPolicies(route: HttpRoute, targets: RouteTargets, field: string): JsonObject[] {
  const out: JsonObject[] = [];
  if (route.mirror) {
    const pct = route.mirrorPercentage?.value ?? route.mirrorPercent;
    out.push({
      cluster: targets.cluster(route.mirror, `${field}.mirror`),
      runtime_fraction: { default_value: fractionalPercent(pct, `${field}.mirrorPercentage`) },
      trace_sampled: false,
    });
  }
  (route.mirrors ?? []).forEach((m, i) => {
    out.push({
      cluster: targets.cluster(m.destination, `${field}.mirrors[${i}].destination`),
      runtime_fraction: { default_value: fractionalPercent(m.percentage?.value, `${field}.mirrors[${i}].percentage`) },
      trace_sampled: false,
    });
  });
  return out;
}

function routeAction(route: HttpRoute, match: HttpMatchRequest | undefined, opts: HttpRouteBuildOptions, field: string, envoyRoute: JsonObject): JsonObject {
  const dests = (route.route ?? []).filter((d, i) => {
    if (d.weight !== undefined && (!Number.isInteger(d.weight) || d.weight < 0)) {
      throw new SailfinError('schema', `weight must be a non-negative integer, got ${JSON.stringify(d.weight)}`, { field: `${field}.route[${i}].weight` });
    }
    // A destination with weight 0 gets no traffic; Istio leaves it out of the weighted clusters.
    return !(route.route!.length > 1 && d.weight === 0);
  });
  if (dests.length === 0) throw new SailfinError('semantic', 'route has no destination with a non-zero weight', { field: `${field}.route` });
  const action: JsonObject = {};
  if (dests.length === 1) {
    action.cluster = opts.targets.cluster(dests[0].destination, `${field}.route[0].destination`);
    applyHeaders(envoyRoute, dests[0].headers);
  } else {
    action.weighted_clusters = {
      clusters: dests.map((d, i) => {
        const entry: JsonObject = {
          name: opts.targets.cluster(d.destination, `${field}.route[${i}].destination`),
          weight: d.weight ?? 0,
        };
        applyHeaders(entry, d.headers);
        return entry;
      }),
    };
  }
  // Istio disables the route timeout unless the VirtualService sets one (Envoy's own default is 15 s).
  action.timeout = route.timeout !== undefined ? istioToProtoDuration(route.timeout, `${field}.timeout`) : '0s';
  const hash = opts.targets.hashPolicy?.(dests[0].destination);
  const retry = retryPolicy(route.retries, `${field}.retries`, !!hash);
  if (retry) action.retry_policy = retry;
  if (hash) action.hash_policy = hash;
  const mirrors = mirrorPolicies(route, opts.targets, field);
  if (mirrors.length) action.request_mirror_policies = mirrors;
  if (route.rewrite) {
    const rw = route.rewrite;
    if (rw.uri !== undefined && rw.uriRegexRewrite) {
      throw new SailfinError('semantic', 'rewrite.uri and rewrite.uriRegexRewrite cannot both be set', { field: `${field}.rewrite` });
    }
    if (rw.uri !== undefined) {
      if (match?.uri?.regex !== undefined) action.regex_rewrite = { pattern: { regex: match.uri.regex }, substitution: rw.uri };
      else action.prefix_rewrite = rw.uri;
    }
    if (rw.uriRegexRewrite) action.regex_rewrite = { pattern: { regex: rw.uriRegexRewrite.match }, substitution: rw.uriRegexRewrite.rewrite };
    if (rw.authority !== undefined) action.host_rewrite_literal = rw.authority;
  }
  return action;
}

function buildOne(route: HttpRoute, match: HttpMatchRequest | undefined, opts: HttpRouteBuildOptions, field: string, matchField: string): JsonObject {
  const envoyRoute: JsonObject = { match: match ? routeMatch(match, matchField) : { prefix: '/' } };
  if (route.name || match?.name) envoyRoute.name = [route.name, match?.name].filter(Boolean).join('.');
  const kinds = [route.route?.length ? 'route' : '', route.redirect ? 'redirect' : '', route.directResponse ? 'directResponse' : ''].filter(Boolean);
  if (kinds.length !== 1) {
    throw new SailfinError('semantic', `an http route needs exactly one of route, redirect or directResponse (got ${kinds.join(', ') || 'none'})`, { field });
  }
  if (route.redirect) envoyRoute.redirect = redirectAction(route.redirect, field);
  else if (route.directResponse) {
    const dr = route.directResponse;
    const body: JsonObject | undefined =
      dr.body?.string !== undefined ? { inline_string: dr.body.string } : dr.body?.bytes !== undefined ? { inline_bytes: dr.body.bytes } : undefined;
    envoyRoute.direct_response = body ? { status: dr.status, body } : { status: dr.status };
  } else envoyRoute.route = routeAction(route, match, opts, field, envoyRoute);
  applyHeaders(envoyRoute, route.headers);
  const perFilter: JsonObject = {};
  if (route.fault) perFilter[FAULT_FILTER] = faultConfig(route.fault, `${field}.fault`);
  if (route.corsPolicy) perFilter[CORS_FILTER] = corsConfig(route.corsPolicy, `${field}.corsPolicy`);
  if (Object.keys(perFilter).length) envoyRoute.typed_per_filter_config = perFilter;
  envoyRoute.decorator = { operation: `${opts.decoratorHost}/*` };
  envoyRoute.metadata = {
    filter_metadata: { istio: { config: `/apis/networking.istio.io/v1/namespaces/${opts.vsNamespace}/virtual-service/${opts.vsName}` } },
  };
  return envoyRoute;
}

export function buildHttpRoutes(http: readonly HttpRoute[], opts: HttpRouteBuildOptions): JsonObject[] {
  const base = opts.field ?? 'spec.http';
  const out: JsonObject[] = [];
  http.forEach((route, i) => {
    const field = `${base}[${i}]`;
    if (!route.match || route.match.length === 0) {
      out.push(buildOne(route, undefined, opts, field, `${field}.match`));
      return;
    }
    route.match.forEach((m, j) => {
      if (!matchAppliesTo(m, opts.proxy, opts.vsNamespace)) return;
      out.push(buildOne(route, m, opts, field, `${field}.match[${j}]`));
    });
  });
  return out;
}

/** The route a service gets when no VirtualService covers it: everything to its cluster, Istio's default retries, no timeout. */
export function defaultRoute(cluster: string, decoratorHost: string, hashPolicy?: JsonObject[]): JsonObject {
  const action: JsonObject = { cluster, timeout: '0s', retry_policy: retryPolicy(undefined, '', !!hashPolicy)! };
  if (hashPolicy) action.hash_policy = hashPolicy;
  return { name: 'default', match: { prefix: '/' }, route: action, decorator: { operation: `${decoratorHost}/*` } };
}
