/**
 * Envoy RouteConfiguration → a compiled route table: virtual hosts indexed by domain (exact, then
 * the longest `*.suffix`, then the longest `prefix*`, then `*`, as Envoy chooses), each with its
 * routes' matchers precomputed. The HCM (or the RDS provider) compiles a table once per update;
 * a request only runs lookups and predicates.
 */
import { assertKnownFields, configError, isObject, join, optArray, optBool, optNumber, optObject, optString, reqString, typeUrlOf, unsupported, type Json, type JsonObject } from '../config/fields.js';
import type { ProxyContext } from '../context.js';
import { perRouteConfigCompiler } from './filter-registry.js';
import './filters/all.js';
import { compileHeaderMutation, HEADER_MUTATION_FIELDS, NO_MUTATION, type HeaderMutation } from './header-mutation.js';
import { compileHeaderMatcher, compileQueryMatcher, compileSafeRegexMatcher, parseQuery, type QueryPredicate, type RequestPredicate, type RouteRequest } from './matchers.js';
import { compileRegexRewrite, compileRouteAction, runtimeFraction, type RegexRewrite, type RouteAction } from './route-action.js';
import { compileRetryPolicy, type RetryPolicy } from './retry-policy.js';

export type PerFilterConfig = ReadonlyMap<string, unknown>;

export interface Redirect {
  readonly scheme?: string;
  readonly host?: string;
  readonly port?: number;
  readonly path?: string;
  readonly prefixRewrite?: string;
  readonly regexRewrite?: RegexRewrite;
  readonly status: number;
  readonly stripQuery: boolean;
}

export interface DirectResponse {
  readonly status: number;
  readonly body?: Buffer;
}

export interface Route {
  readonly name: string;
  readonly virtualHost: VirtualHost;
  readonly matches: (req: RouteRequest) => boolean;
  /** Path prefix matched (for prefix_rewrite), or undefined for other match kinds. */
  readonly matchedPrefix?: string;
  readonly pathRegex?: RegExp;
  readonly action?: RouteAction;
  readonly redirect?: Redirect;
  readonly directResponse?: DirectResponse;
  readonly requestMutation: HeaderMutation;
  readonly responseMutation: HeaderMutation;
  readonly perFilter: PerFilterConfig;
  readonly decoratorOperation?: string;
}

export interface VirtualHost {
  readonly name: string;
  readonly routes: readonly Route[];
  readonly requestMutation: HeaderMutation;
  readonly responseMutation: HeaderMutation;
  readonly retry?: RetryPolicy;
  readonly perFilter: PerFilterConfig;
  readonly includeAttemptCountInRequest: boolean;
  readonly includeAttemptCountInResponse: boolean;
  readonly routeConfig: CompiledRouteConfig;
}

export interface CompiledRouteConfig {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHost[];
  readonly requestMutation: HeaderMutation;
  readonly responseMutation: HeaderMutation;
  readonly mostSpecificHeaderMutationsWins: boolean;
  readonly ignorePortInHostMatching: boolean;
  /** The virtual host for a lower-case Host / :authority value, or undefined. */
  findVirtualHost(host: string): VirtualHost | undefined;
  /** The first route of the matching virtual host that matches, or undefined (404 NR). */
  route(req: RouteRequest): Route | undefined;
}

const ROUTE_CONFIG_FIELDS = [
  'name', 'virtual_hosts', 'validate_clusters', 'ignore_port_in_host_matching', 'max_direct_response_body_size_bytes',
  'most_specific_header_mutations_wins', 'internal_only_headers', ...HEADER_MUTATION_FIELDS,
];
const VHOST_FIELDS = [
  'name', 'domains', 'routes', 'retry_policy', 'typed_per_filter_config', 'include_request_attempt_count',
  'include_attempt_count_in_response', 'require_tls', ...HEADER_MUTATION_FIELDS,
];
const ROUTE_FIELDS = ['name', 'match', 'route', 'redirect', 'direct_response', 'typed_per_filter_config', 'decorator', 'metadata', ...HEADER_MUTATION_FIELDS];
const MATCH_FIELDS = ['prefix', 'path', 'safe_regex', 'path_separated_prefix', 'case_sensitive', 'headers', 'query_parameters', 'grpc', 'runtime_fraction'];

const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

function compilePerFilter(obj: JsonObject, path: string): PerFilterConfig {
  const out = new Map<string, unknown>();
  const tpfc = optObject(obj, 'typed_per_filter_config', path);
  if (!tpfc) return out;
  for (const [name, raw] of Object.entries(tpfc)) {
    const p = join(join(path, 'typed_per_filter_config'), name);
    if (!isObject(raw)) throw configError(p, 'must be an object');
    let cfg = raw;
    let type = typeUrlOf(cfg, p);
    // config.route.v3.FilterConfig wraps the real config (and can mark it optional).
    if (type.endsWith('envoy.config.route.v3.FilterConfig')) {
      assertKnownFields(cfg, ['@type', 'config', 'is_optional', 'disabled'], p);
      if (cfg.disabled === true) {
        out.set(name, null);
        continue;
      }
      const inner = optObject(cfg, 'config', p);
      if (!inner) throw configError(join(p, 'config'), 'required field is missing');
      cfg = inner;
      type = typeUrlOf(cfg, join(p, 'config'));
    }
    const compile = perRouteConfigCompiler(type);
    if (!compile) throw unsupported(join(p, '@type'), `per-route config of type ${JSON.stringify(type)} is not supported by Sailfin`);
    out.set(name, compile(cfg, p));
  }
  return out;
}

function compileMatch(json: JsonObject, path: string): Pick<Route, 'matches' | 'matchedPrefix' | 'pathRegex'> {
  assertKnownFields(json, MATCH_FIELDS, path);
  const kinds = ['prefix', 'path', 'safe_regex', 'path_separated_prefix'].filter((k) => json[k] !== undefined);
  if (kinds.length !== 1) throw configError(path, `needs exactly one of prefix, path, safe_regex, path_separated_prefix (got ${kinds.join(', ') || 'none'})`);
  const caseSensitive = optBool(json, 'case_sensitive', path) ?? true;
  const kind = kinds[0];
  let pathMatch: (p: string) => boolean;
  let matchedPrefix: string | undefined;
  let pathRegex: RegExp | undefined;
  if (kind === 'safe_regex') {
    pathRegex = compileSafeRegexMatcher(json.safe_regex, join(path, 'safe_regex'));
    const re = pathRegex;
    pathMatch = (p) => re.test(p);
  } else {
    const raw = optString(json, kind, path) ?? '';
    const want = caseSensitive ? raw : raw.toLowerCase();
    const norm = caseSensitive ? (p: string) => p : (p: string) => p.toLowerCase();
    if (kind === 'prefix') {
      matchedPrefix = raw;
      pathMatch = want === '/' || want === '' ? () => true : (p) => norm(p).startsWith(want);
    } else if (kind === 'path') {
      pathMatch = (p) => norm(p) === want;
    } else {
      if (raw.endsWith('/') || raw.includes('?') || raw.includes('#')) {
        throw configError(join(path, kind), 'must not end with "/" or contain "?" or "#"');
      }
      matchedPrefix = raw;
      pathMatch = (p) => {
        const n = norm(p);
        return n === want || (n.startsWith(want) && n.charCodeAt(want.length) === 47);
      };
    }
  }
  const headers: RequestPredicate[] = optArray(json, 'headers', path).map((h, i) => compileHeaderMatcher(h, join(join(path, 'headers'), i)));
  const params: QueryPredicate[] = optArray(json, 'query_parameters', path).map((q, i) => compileQueryMatcher(q, join(join(path, 'query_parameters'), i)));
  const grpc = optObject(json, 'grpc', path) !== undefined;
  const fraction = json.runtime_fraction !== undefined ? runtimeFraction(optObject(json, 'runtime_fraction', path), join(path, 'runtime_fraction')) : 1;
  const matches = (req: RouteRequest): boolean => {
    const full = req.path;
    const q = full.indexOf('?');
    if (!pathMatch(q < 0 ? full : full.slice(0, q))) return false;
    for (let i = 0; i < headers.length; i++) if (!headers[i](req)) return false;
    if (params.length) {
      const query = parseQuery(full);
      for (let i = 0; i < params.length; i++) if (!params[i](query)) return false;
    }
    if (grpc && !(req.headers.get('content-type') ?? '').startsWith('application/grpc')) return false;
    if (fraction < 1 && Math.random() >= fraction) return false;
    return true;
  };
  return { matches, matchedPrefix, pathRegex };
}

function compileRedirect(json: JsonObject, path: string): Redirect {
  assertKnownFields(json, ['https_redirect', 'scheme_redirect', 'host_redirect', 'port_redirect', 'path_redirect', 'prefix_rewrite', 'regex_rewrite', 'response_code', 'strip_query'], path);
  const code = optString(json, 'response_code', path) ?? 'MOVED_PERMANENTLY';
  const status = REDIRECT_CODES[code];
  if (!status) throw configError(join(path, 'response_code'), `unsupported value ${JSON.stringify(code)}`);
  const rr = optObject(json, 'regex_rewrite', path);
  const pathKinds = ['path_redirect', 'prefix_rewrite', 'regex_rewrite'].filter((k) => json[k] !== undefined);
  if (pathKinds.length > 1) throw configError(path, `only one of ${pathKinds.join(', ')} may be set`);
  return {
    scheme: optBool(json, 'https_redirect', path) ? 'https' : optString(json, 'scheme_redirect', path),
    host: optString(json, 'host_redirect', path),
    port: optNumber(json, 'port_redirect', path, { min: 0, max: 65535, integer: true }),
    path: optString(json, 'path_redirect', path),
    prefixRewrite: optString(json, 'prefix_rewrite', path),
    regexRewrite: rr ? compileRegexRewrite(rr, join(path, 'regex_rewrite')) : undefined,
    status,
    stripQuery: optBool(json, 'strip_query', path) ?? false,
  };
}

function compileDirect(json: JsonObject, path: string, maxBody: number): DirectResponse {
  assertKnownFields(json, ['status', 'body'], path);
  const status = optNumber(json, 'status', path, { min: 100, max: 599, integer: true });
  if (status === undefined) throw configError(join(path, 'status'), 'required field is missing');
  const body = optObject(json, 'body', path);
  let buf: Buffer | undefined;
  if (body) {
    const bp = join(path, 'body');
    assertKnownFields(body, ['inline_string', 'inline_bytes'], bp);
    if (typeof body.inline_string === 'string') buf = Buffer.from(body.inline_string);
    else if (typeof body.inline_bytes === 'string') buf = Buffer.from(body.inline_bytes, 'base64');
    if (buf && buf.length > maxBody) throw configError(bp, `body is ${buf.length} bytes, over max_direct_response_body_size_bytes (${maxBody})`);
  }
  return { status, body: buf };
}

function compileRoute(json: Json, vhost: VirtualHost, path: string, maxBody: number): Route {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, ROUTE_FIELDS, path);
  const kinds = ['route', 'redirect', 'direct_response'].filter((k) => json[k] !== undefined);
  if (kinds.length !== 1) throw configError(path, `needs exactly one of route, redirect, direct_response (got ${kinds.join(', ') || 'none'})`);
  const m = compileMatch(optObject(json, 'match', path) ?? {}, join(path, 'match'));
  if (!isObject(json.match)) throw configError(join(path, 'match'), 'required field is missing');
  const decorator = optObject(json, 'decorator', path);
  if (decorator) assertKnownFields(decorator, ['operation', 'propagate'], join(path, 'decorator'));
  const action = optObject(json, 'route', path);
  const redirect = optObject(json, 'redirect', path);
  const direct = optObject(json, 'direct_response', path);
  return {
    name: optString(json, 'name', path) ?? '',
    virtualHost: vhost,
    ...m,
    action: action ? compileRouteAction(action, join(path, 'route')) : undefined,
    redirect: redirect ? compileRedirect(redirect, join(path, 'redirect')) : undefined,
    directResponse: direct ? compileDirect(direct, join(path, 'direct_response'), maxBody) : undefined,
    requestMutation: compileHeaderMutation(json, 'request', path),
    responseMutation: compileHeaderMutation(json, 'response', path),
    perFilter: compilePerFilter(json, path),
    decoratorOperation: decorator ? optString(decorator, 'operation', join(path, 'decorator')) : undefined,
  };
}

interface DomainIndex {
  exact: Map<string, VirtualHost>;
  /** `*.suffix` (and `*suffix`) wildcards, longest first: [suffix, vhost]. */
  suffixes: [string, VirtualHost][];
  /** `prefix*` wildcards, longest first. */
  prefixes: [string, VirtualHost][];
  any?: VirtualHost;
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const c = host.lastIndexOf(':');
  return c < 0 ? host : host.slice(0, c);
}

class RouteTable implements CompiledRouteConfig {
  virtualHosts: VirtualHost[] = [];
  index: DomainIndex = { exact: new Map(), suffixes: [], prefixes: [] };
  constructor(
    readonly name: string,
    readonly requestMutation: HeaderMutation,
    readonly responseMutation: HeaderMutation,
    readonly mostSpecificHeaderMutationsWins: boolean,
    readonly ignorePortInHostMatching: boolean,
  ) {}

  findVirtualHost(host: string): VirtualHost | undefined {
    const idx = this.index;
    if (this.ignorePortInHostMatching) host = stripPort(host);
    const exact = idx.exact.get(host);
    if (exact) return exact;
    for (const [suffix, vh] of idx.suffixes) if (host.length > suffix.length && host.endsWith(suffix)) return vh;
    for (const [prefix, vh] of idx.prefixes) if (host.length > prefix.length && host.startsWith(prefix)) return vh;
    return idx.any;
  }

  route(req: RouteRequest): Route | undefined {
    const vh = this.findVirtualHost(req.host);
    if (!vh) return undefined;
    const routes = vh.routes;
    for (let i = 0; i < routes.length; i++) if (routes[i].matches(req)) return routes[i];
    return undefined;
  }
}

function addDomain(idx: DomainIndex, domain: string, vh: VirtualHost, path: string, seen: Map<string, string>): void {
  const d = domain.toLowerCase();
  const prev = seen.get(d);
  if (prev !== undefined) throw configError(path, `domain "${domain}" is also used by virtual host "${prev}"`);
  seen.set(d, vh.name);
  if (d === '*') idx.any = vh;
  else if (d.startsWith('*')) idx.suffixes.push([d.slice(1), vh]);
  else if (d.endsWith('*')) idx.prefixes.push([d.slice(0, -1), vh]);
  else idx.exact.set(d, vh);
}

/**
 * Compiles a RouteConfiguration. Throws SailfinError naming the offending field; the caller keeps
 * the previous table in that case.
 */
export function compileRouteConfiguration(json: JsonObject, _ctx: ProxyContext | undefined, path: string): CompiledRouteConfig {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, ['@type', ...ROUTE_CONFIG_FIELDS], path);
  const maxBody = optNumber(json, 'max_direct_response_body_size_bytes', path, { min: 0 }) ?? 4096;
  const table = new RouteTable(
    optString(json, 'name', path) ?? '',
    compileHeaderMutation(json, 'request', path),
    compileHeaderMutation(json, 'response', path),
    optBool(json, 'most_specific_header_mutations_wins', path) ?? false,
    optBool(json, 'ignore_port_in_host_matching', path) ?? false,
  );
  if (optArray(json, 'internal_only_headers', path).length) throw unsupported(join(path, 'internal_only_headers'), 'internal_only_headers is not supported by Sailfin');
  const seen = new Map<string, string>();
  optArray(json, 'virtual_hosts', path).forEach((v, i) => {
    const p = join(join(path, 'virtual_hosts'), i);
    if (!isObject(v)) throw configError(p, 'must be an object');
    assertKnownFields(v, VHOST_FIELDS, p);
    const requireTls = optString(v, 'require_tls', p);
    if (requireTls !== undefined && requireTls !== 'NONE') throw unsupported(join(p, 'require_tls'), 'only NONE is supported');
    const rp = optObject(v, 'retry_policy', p);
    const vh = {
      name: reqString(v, 'name', p),
      routes: [] as Route[],
      requestMutation: compileHeaderMutation(v, 'request', p),
      responseMutation: compileHeaderMutation(v, 'response', p),
      retry: rp ? compileRetryPolicy(rp, join(p, 'retry_policy')) : undefined,
      perFilter: compilePerFilter(v, p),
      includeAttemptCountInRequest: optBool(v, 'include_request_attempt_count', p) ?? false,
      includeAttemptCountInResponse: optBool(v, 'include_attempt_count_in_response', p) ?? false,
      routeConfig: table,
    };
    optArray(v, 'routes', p).forEach((r, j) => vh.routes.push(compileRoute(r, vh, join(join(p, 'routes'), j), maxBody)));
    const domains = optArray(v, 'domains', p);
    if (domains.length === 0) throw configError(join(p, 'domains'), 'needs at least one domain');
    domains.forEach((d, j) => {
      if (typeof d !== 'string' || !d) throw configError(join(join(p, 'domains'), j), 'must be a non-empty string');
      addDomain(table.index, d, vh, join(join(p, 'domains'), j), seen);
    });
    table.virtualHosts.push(vh);
  });
  table.index.suffixes.sort((a, b) => b[0].length - a[0].length);
  table.index.prefixes.sort((a, b) => b[0].length - a[0].length);
  return table;
}

export { NO_MUTATION };
