/**
 * One proxy hop's span: started when the request headers are in (continuing or starting the trace
 * and rewriting the context headers the next hop sees), turned into a Zipkin v2 span when the stream
 * ends, with the tags Envoy and Istio put on theirs.
 */
import type { ActiveStream } from '../http/active-stream.js';
import type { StreamInfo } from '../stream-info.js';
import { newSpanId, newTraceId } from './ids.js';
import { extractContext, injectContext } from './trace-context.js';
import type { HttpTracer } from './tracing-config.js';

export interface ZipkinEndpoint {
  serviceName?: string;
  ipv4?: string;
  ipv6?: string;
  port?: number;
}

export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind: 'SERVER' | 'CLIENT';
  timestamp: number;
  duration: number;
  localEndpoint: ZipkinEndpoint;
  remoteEndpoint?: ZipkinEndpoint;
  tags: Record<string, string>;
}

export class ActiveSpan {
  constructor(
    readonly traceId: string,
    readonly id: string,
    readonly parentId: string | undefined,
    readonly sampled: boolean,
  ) {}
}

/** Starts this hop's span for the stream and writes the context the upstream request carries. */
export function startSpan(tracer: HttpTracer, s: ActiveStream): ActiveSpan {
  const h = s.headers;
  const incoming = extractContext(h);
  const sampled = incoming.sampled ?? tracer.sample(h.has('x-client-trace-id'));
  const span = new ActiveSpan(incoming.traceId ?? newTraceId(), newSpanId(), incoming.parentId, sampled);
  injectContext(h, span.traceId, span.id, span.parentId, sampled, incoming.b3Single);
  return span;
}

function endpoint(addr: string | undefined): ZipkinEndpoint | undefined {
  if (!addr) return undefined;
  const c = addr.lastIndexOf(':');
  const ip = (c < 0 ? addr : addr.slice(0, c)).replace(/^\[|\]$/g, '');
  const port = c < 0 ? undefined : Number(addr.slice(c + 1));
  const e: ZipkinEndpoint = ip.includes(':') ? { ipv6: ip } : { ipv4: ip };
  if (port !== undefined && Number.isInteger(port)) e.port = port;
  return e;
}

function pathOnly(p: string): string {
  const q = p.indexOf('?');
  return q < 0 ? p : p.slice(0, q);
}

/** Zipkin v2 JSON for a finished stream (only sampled spans get here). */
export function buildSpan(tracer: HttpTracer, span: ActiveSpan, s: ActiveStream): ZipkinSpan {
  const info: StreamInfo = s.info;
  // Inbound clusters mean this hop received the call for its own workload: a server span; otherwise
  // the proxy calls out on behalf of its app (or as a gateway): a client span, as Envoy's egress.
  const server = info.upstreamCluster?.startsWith('inbound|') === true;
  const authority = info.authority ?? s.host;
  const status = info.responseCode ?? 0;
  const url = `${s.scheme}://${authority}${info.path ?? s.path}`;
  const tags: Record<string, string> = {
    'node_id': tracer.nodeId,
    'guid:x-request-id': info.requestId ?? '',
    'http.url': url.length > tracer.maxPathTagLength ? url.slice(0, tracer.maxPathTagLength) : url,
    'http.method': info.method ?? s.method,
    'http.protocol': info.protocol ?? 'HTTP/1.1',
    'downstream_cluster': '-',
    'user_agent': info.userAgent ?? '-',
    'request_size': String(info.bytesReceived),
    'response_size': String(info.bytesSent),
    'http.status_code': String(status),
    'response_flags': info.responseFlags.length ? info.responseFlags.join(',') : '-',
    'upstream_cluster': info.upstreamCluster ?? '-',
    'upstream_cluster.name': info.upstreamCluster ?? '-',
    'peer.address': info.downstreamRemoteAddress ?? '-',
    'component': 'proxy',
  };
  if (status >= 500 || status === 0) tags.error = 'true';
  for (const t of tracer.customTags) {
    const v = t.value ?? (t.header ? s.headers.get(t.header) : undefined) ?? t.defaultValue;
    if (v !== undefined) tags[t.tag] = v;
  }
  const durationUs = Math.max(1, Math.round(Number(process.hrtime.bigint() - info.startHr) / 1000));
  const out: ZipkinSpan = {
    traceId: span.traceId,
    id: span.id,
    name: `${authority}${pathOnly(info.path ?? s.path)}`.toLowerCase(),
    kind: server ? 'SERVER' : 'CLIENT',
    timestamp: info.startTime * 1000,
    duration: durationUs,
    localEndpoint: tracer.localEndpoint,
    tags,
  };
  if (span.parentId) out.parentId = span.parentId;
  const remote = endpoint(server ? info.downstreamRemoteAddress : info.upstreamHost);
  if (remote) out.remoteEndpoint = remote;
  return out;
}
