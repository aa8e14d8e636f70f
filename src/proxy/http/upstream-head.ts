/**
 * What the router sends upstream for one request: the path after prefix/regex rewrite, the authority
 * after host rewrite, the header policies of every level in Envoy's order, and the route and per-try
 * timeouts with their override headers (`x-envoy-upstream-rq-timeout-ms`, `grpc-timeout`).
 */
import type { ActiveStream } from './active-stream.js';
import type { RouteAction, WeightedCluster } from './route-action.js';
import type { UpstreamRequestHead } from './upstream-types.js';

export interface PreparedHead {
  head: UpstreamRequestHead;
  timeoutMs: number;
  perTryMs: number;
}

export function prepareUpstreamHead(s: ActiveStream, action: RouteAction, weighted: WeightedCluster | undefined, suppressEnvoyHeaders: boolean): PreparedHead {
  const route = s.route!;
  const h = s.headers;
  let path = s.path;
  if (action.prefixRewrite !== undefined && route.matchedPrefix !== undefined) {
    path = action.prefixRewrite + path.slice(route.matchedPrefix.length);
    if (!path.startsWith('/')) path = '/' + path;
  } else if (action.regexRewrite) {
    const q = path.indexOf('?');
    const p = q < 0 ? path : path.slice(0, q);
    action.regexRewrite.re.lastIndex = 0;
    path = p.replace(action.regexRewrite.re, action.regexRewrite.substitution) + (q < 0 ? '' : path.slice(q));
  }
  if (path !== s.path && !suppressEnvoyHeaders) h.set('x-envoy-original-path', s.path);
  let authority = s.info.authority ?? s.host;
  if (action.hostRewriteLiteral !== undefined) authority = action.hostRewriteLiteral;
  else if (action.hostRewriteHeader) authority = h.get(action.hostRewriteHeader) ?? authority;
  // Header policies: the most specific level first, so the route config has the last word (Envoy's default).
  const rc = route.virtualHost.routeConfig;
  const levels = [weighted?.requestMutation, route.requestMutation, route.virtualHost.requestMutation, rc.requestMutation];
  if (rc.mostSpecificHeaderMutationsWins) levels.reverse();
  for (const m of levels) if (m && !m.empty) m.apply(h, s.info);
  let timeout = action.timeoutMs;
  const hdrTimeout = h.get('x-envoy-upstream-rq-timeout-ms');
  if (hdrTimeout !== undefined && /^\d+$/.test(hdrTimeout)) timeout = Number(hdrTimeout);
  if (action.grpcTimeoutHeaderMaxMs !== undefined && s.grpc) {
    const gt = parseGrpcTimeout(h.get('grpc-timeout'));
    if (gt !== undefined) timeout = action.grpcTimeoutHeaderMaxMs > 0 ? Math.min(gt, action.grpcTimeoutHeaderMaxMs) : gt;
  }
  const retry = action.retry ?? route.virtualHost.retry;
  let perTry = retry?.perTryTimeoutMs ?? 0;
  const hdrPerTry = h.get('x-envoy-upstream-rq-per-try-timeout-ms');
  if (hdrPerTry !== undefined && /^\d+$/.test(hdrPerTry)) perTry = Number(hdrPerTry);
  h.remove('x-envoy-upstream-rq-timeout-ms');
  h.remove('x-envoy-upstream-rq-per-try-timeout-ms');
  const expected = perTry > 0 && (timeout === 0 || perTry < timeout) ? perTry : timeout;
  if (expected > 0 && !suppressEnvoyHeaders) h.set('x-envoy-expected-rq-timeout-ms', String(expected));
  const cl = h.get('content-length');
  const codecHasBody = !s.requestComplete || s.info.bytesReceived > 0;
  return {
    head: {
      method: s.method,
      path,
      authority,
      scheme: s.scheme,
      headers: h,
      hasBody: codecHasBody,
      contentLength: cl !== undefined && !h.has('transfer-encoding') ? Number(cl) : codecHasBody ? -1 : 0,
      upgrade: upgradeType(s, action),
    },
    timeoutMs: timeout,
    perTryMs: perTry,
  };
}

/** The Upgrade this request may make, if the route (or the HCM) allows that upgrade type. */
function upgradeType(s: ActiveStream, action: RouteAction): string | undefined {
  const up = s.headers.get('upgrade');
  if (!up || s.codec.protocol === 'HTTP/2') return undefined;
  const conn = s.headers.get('connection');
  if (!conn || !conn.toLowerCase().includes('upgrade')) return undefined;
  const type = up.toLowerCase();
  const allowed = action.upgrades?.get(type) ?? s.hcm.upgrades.get(type) ?? false;
  return allowed ? up : undefined;
}

/** `x-envoy-original-dst-host: host:port`. */
export function parseHostPort(v: string): { address: string; port: number } | undefined {
  const c = v.lastIndexOf(':');
  if (c < 0) return undefined;
  const address = v.slice(0, c).replace(/^\[|\]$/g, '');
  const port = Number(v.slice(c + 1));
  return Number.isInteger(port) ? { address, port } : undefined;
}

/** gRPC's grpc-timeout header ("100m", "5S", …) in ms. */
function parseGrpcTimeout(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const n = Number(v.slice(0, -1));
  if (!Number.isFinite(n)) return undefined;
  switch (v[v.length - 1]) {
    case 'H':
      return n * 3_600_000;
    case 'M':
      return n * 60_000;
    case 'S':
      return n * 1000;
    case 'm':
      return n;
    case 'u':
      return Math.ceil(n / 1000);
    case 'n':
      return Math.ceil(n / 1e6);
    default:
      return undefined;
  }
}
