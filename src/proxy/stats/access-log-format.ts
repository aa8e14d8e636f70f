/**
 * Envoy's access-log command operators (`%START_TIME%`, `%REQ(:METHOD)%`, `%RESPONSE_FLAGS%`, …),
 * compiled once per access_log entry into a list of small extractor functions, so writing one log
 * line is a loop over precomputed parts with no parsing.
 */
import { hostname } from 'node:os';
import { configError } from '../config/fields.js';
import { formatFlags, type HeaderLookup, type StreamInfo } from '../stream-info.js';

/** A value for one operator: undefined prints "-" in text and null in JSON. */
export type Extractor = (info: StreamInfo) => string | number | undefined;

/** Istio's default text format (the one `meshConfig.accessLogFile` turns on). */
export const ISTIO_DEFAULT_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% ' +
  '%BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% ' +
  '%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

const HOSTNAME = hostname();

function withoutPort(addr: string | undefined): string | undefined {
  if (!addr) return undefined;
  if (addr.startsWith('[')) return addr.slice(1, addr.indexOf(']'));
  const i = addr.lastIndexOf(':');
  return i < 0 || addr.indexOf(':') !== i ? addr : addr.slice(0, i);
}

/**
 * `new Date(ms).toISOString()` with the part up to the seconds made once per second: a Date and its
 * formatting per request was the access log's largest single cost in `--cpu-prof` (about 1 % of a
 * sidecar's busy time at 1,000 req/s).
 */
let isoSecond = NaN;
let isoPrefix = '';
export function isoTime(ms: number): string {
  if (!Number.isInteger(ms)) return new Date(ms).toISOString();
  const sec = Math.floor(ms / 1000);
  if (sec !== isoSecond) {
    const full = new Date(sec * 1000).toISOString();
    // Years beyond 9999 or before 0 have a longer prefix; leave those to Date.
    if (full.length !== 24) return new Date(ms).toISOString();
    isoSecond = sec;
    isoPrefix = full.slice(0, 20);
  }
  const m = ms - sec * 1000;
  return isoPrefix + (m < 10 ? '00' : m < 100 ? '0' : '') + m + 'Z';
}

function durationMs(info: StreamInfo): number {
  return info.durationMs ?? Math.round(Number(process.hrtime.bigint() - info.startHr) / 1e6);
}

function header(h: HeaderLookup | undefined, name: string): string | undefined {
  if (!h) return undefined;
  if (typeof h.get === 'function') {
    const list = h as { get(n: string): string | undefined; getJoined?(n: string): string | undefined };
    return list.getJoined ? list.getJoined(name) : list.get(name);
  }
  const v = (h as Readonly<Record<string, string | readonly string[] | undefined>>)[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(',');
}

/** Request header operators that map to dedicated StreamInfo fields (filled for HTTP and TCP alike). */
function requestField(name: string): Extractor | undefined {
  switch (name) {
    case ':method':
      return (i) => i.method ?? header(i.requestHeaders, ':method');
    case ':path':
    case 'x-envoy-original-path':
      return name === ':path' ? (i) => i.path ?? header(i.requestHeaders, ':path') : (i) => header(i.requestHeaders, name);
    case ':authority':
    case 'host':
      return (i) => i.authority ?? header(i.requestHeaders, ':authority') ?? header(i.requestHeaders, 'host');
    case 'user-agent':
      return (i) => i.userAgent ?? header(i.requestHeaders, name);
    case 'x-request-id':
      return (i) => i.requestId ?? header(i.requestHeaders, name);
    case 'x-forwarded-for':
      return (i) => i.forwardedFor ?? header(i.requestHeaders, name);
    default:
      return undefined;
  }
}

function headerOperator(arg: string, which: 'req' | 'resp' | 'trailer', path: string): Extractor {
  const [main, alt] = arg.toLowerCase().split('?');
  if (!main) throw configError(path, `%${which.toUpperCase()}(…)% needs a header name`);
  const pick = (name: string): Extractor => {
    if (which === 'req') return requestField(name) ?? ((i) => header(i.requestHeaders, name));
    if (which === 'resp') {
      if (name === 'x-envoy-upstream-service-time') return (i) => (i.upstreamServiceTimeMs === undefined ? header(i.responseHeaders, name) : String(i.upstreamServiceTimeMs));
      return (i) => header(i.responseHeaders, name);
    }
    return (i) => header(i.responseTrailers, name);
  };
  const first = pick(main);
  if (alt === undefined) return first;
  const second = pick(alt);
  return (i) => first(i) ?? second(i);
}

/** The extractor for one operator (without its `%`s), e.g. `REQ(:METHOD)` or `START_TIME`. */
export function compileOperator(op: string, path: string): Extractor {
  const m = /^([A-Z_0-9]+)(?:\(([^)]*)\))?(?::(\d+))?$/.exec(op);
  if (!m) throw configError(path, `"%${op}%" is not an access-log command operator`);
  const [, name, arg, maxLenText] = m;
  const base = compileNamed(name, arg, op, path);
  if (maxLenText === undefined) return base;
  const maxLen = Number(maxLenText);
  return (i) => {
    const v = base(i);
    return typeof v === 'string' && v.length > maxLen ? v.slice(0, maxLen) : v;
  };
}

function compileNamed(name: string, arg: string | undefined, op: string, path: string): Extractor {
  switch (name) {
    case 'REQ':
    case 'RESP':
    case 'TRAILER':
      if (arg === undefined) throw configError(path, `%${name}(header)% needs a header name in "%${op}%"`);
      return headerOperator(arg, name === 'REQ' ? 'req' : name === 'RESP' ? 'resp' : 'trailer', path);
    case 'START_TIME':
      // A strftime-style argument is accepted, but the time is always printed in ISO 8601 (Envoy's default).
      return (i) => isoTime(i.startTime);
    case 'PROTOCOL':
      return (i) => i.protocol;
    case 'RESPONSE_CODE':
      return (i) => i.responseCode ?? 0;
    case 'RESPONSE_FLAGS':
      return (i) => formatFlags(i);
    case 'RESPONSE_CODE_DETAILS':
      return (i) => i.responseCodeDetails;
    case 'CONNECTION_TERMINATION_DETAILS':
      return (i) => i.connectionTerminationDetails;
    case 'UPSTREAM_TRANSPORT_FAILURE_REASON':
      return (i) => i.upstreamTransportFailureReason;
    case 'BYTES_RECEIVED':
      return (i) => i.bytesReceived;
    case 'BYTES_SENT':
      return (i) => i.bytesSent;
    case 'DURATION':
      return durationMs;
    case 'UPSTREAM_HOST':
      return (i) => i.upstreamHost;
    case 'UPSTREAM_CLUSTER':
    case 'UPSTREAM_CLUSTER_RAW':
      return (i) => i.upstreamCluster;
    case 'UPSTREAM_LOCAL_ADDRESS':
      return (i) => i.upstreamLocalAddress;
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      return (i) => i.downstreamLocalAddress;
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT':
      return (i) => withoutPort(i.downstreamLocalAddress);
    case 'DOWNSTREAM_REMOTE_ADDRESS':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS':
      return (i) => i.downstreamRemoteAddress;
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT':
      return (i) => withoutPort(i.downstreamRemoteAddress);
    case 'REQUESTED_SERVER_NAME':
      return (i) => i.requestedServerName;
    case 'ROUTE_NAME':
      return (i) => i.routeName;
    case 'VIRTUAL_CLUSTER_NAME':
      return (i) => i.virtualClusterName;
    case 'DOWNSTREAM_PEER_URI_SAN':
      return (i) => i.downstreamPeerUri;
    case 'UPSTREAM_PEER_URI_SAN':
      return (i) => i.upstreamPeerUri;
    case 'UPSTREAM_REQUEST_ATTEMPT_COUNT':
      return (i) => i.attemptCount;
    case 'GRPC_STATUS':
      return (i) => header(i.responseTrailers, 'grpc-status') ?? header(i.responseHeaders, 'grpc-status');
    case 'HOSTNAME':
      return () => HOSTNAME;
    case 'FILTER_CHAIN_NAME':
      return (i) => i.filterChainName;
    case 'LISTENER_NAME':
      return (i) => i.listenerName;
    case 'REQUEST_DURATION':
    case 'RESPONSE_DURATION':
    case 'RESPONSE_TX_DURATION':
      // Sub-durations are not tracked separately; Envoy prints "-" when a duration is unknown.
      return () => undefined;
    default:
      throw configError(path, `access-log command operator "%${op}%" is not supported by Sailfin (see docs/envoy-subset.md)`);
  }
}

/** A text format compiled to alternating literal strings and extractors. */
export type TextPart = string | Extractor;

export function compileTextFormat(format: string, path: string): TextPart[] {
  const parts: TextPart[] = [];
  let literal = '';
  let i = 0;
  while (i < format.length) {
    const c = format[i];
    if (c !== '%') {
      literal += c;
      i++;
      continue;
    }
    if (format[i + 1] === '%') {
      literal += '%';
      i += 2;
      continue;
    }
    const end = format.indexOf('%', i + 1);
    if (end < 0) throw configError(path, `unterminated command operator at character ${i} of the format`);
    if (literal) parts.push(literal);
    literal = '';
    parts.push(compileOperator(format.slice(i + 1, end), path));
    i = end + 1;
  }
  if (literal) parts.push(literal);
  return parts;
}

export function renderText(parts: readonly TextPart[], info: StreamInfo): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') out += p;
    else {
      const v = p(info);
      out += v === undefined || v === '' ? '-' : v;
    }
  }
  return out;
}

/**
 * A json_format value: a string that is exactly one operator keeps the operator's type (numbers
 * stay numbers, as in Envoy); other strings are text formats; nested objects recurse.
 */
export type JsonPart = { key: string; single?: Extractor; text?: TextPart[]; nested?: JsonPart[]; literal?: unknown };

export function compileJsonFormat(obj: Record<string, unknown>, path: string): JsonPart[] {
  const out: JsonPart[] = [];
  for (const [key, v] of Object.entries(obj)) {
    const p = `${path}.${key}`;
    if (typeof v === 'string') {
      const text = compileTextFormat(v, p);
      if (text.length === 1 && typeof text[0] === 'function') out.push({ key, single: text[0] });
      else out.push({ key, text });
    } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      out.push({ key, nested: compileJsonFormat(v as Record<string, unknown>, p) });
    } else if (typeof v === 'number' || typeof v === 'boolean' || v === null) {
      out.push({ key, literal: v });
    } else {
      throw configError(p, 'json_format values must be strings, numbers, booleans or objects');
    }
  }
  return out;
}

export function renderJson(parts: readonly JsonPart[], info: StreamInfo): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of parts) {
    if (p.single) {
      const v = p.single(info);
      out[p.key] = v === undefined || v === '' ? null : v;
    } else if (p.text) out[p.key] = renderText(p.text, info);
    else if (p.nested) out[p.key] = renderJson(p.nested, info);
    else out[p.key] = p.literal;
  }
  return out;
}
