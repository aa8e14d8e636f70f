/**
 * A tiny Zipkin-compatible collector for the local mesh (the few endpoints of Zipkin's v2 API that
 * the proxies and a user need): spans come in as Zipkin v2 JSON on POST /api/v2/spans, as Envoy's
 * and Sailfin's Zipkin tracers send them, and are kept in memory (bounded) for
 *   GET /api/v2/services                      service names seen
 *   GET /api/v2/traces?serviceName=S&limit=N  traces (arrays of spans) touching S, newest first
 *   GET /api/v2/trace/{traceId}               one trace's spans
 * Usage: zipkin [--port 9411]
 */
import { createServer, type ServerResponse } from 'node:http';

interface Span {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  kind?: string;
  timestamp?: number;
  duration?: number;
  localEndpoint?: { serviceName?: string };
  remoteEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
}

/** Oldest traces are forgotten past this many spans. */
const MAX_SPANS = 50_000;
const MAX_BODY = 16 * 1024 * 1024;

const traces = new Map<string, Span[]>();
let stored = 0;

function isSpan(v: unknown): v is Span {
  const s = v as Span;
  return typeof s === 'object' && s !== null && typeof s.traceId === 'string' && /^[0-9a-f]{16,32}$/.test(s.traceId) && typeof s.id === 'string' && /^[0-9a-f]{16}$/.test(s.id);
}

function store(spans: Span[]): void {
  for (const s of spans) {
    const id = s.traceId.padStart(32, '0');
    let list = traces.get(id);
    if (!list) traces.set(id, (list = []));
    else {
      // Newest traces last, so eviction below drops the oldest.
      traces.delete(id);
      traces.set(id, list);
    }
    list.push(s);
    stored++;
  }
  while (stored > MAX_SPANS) {
    const [oldest, list] = traces.entries().next().value as [string, Span[]];
    traces.delete(oldest);
    stored -= list.length;
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function services(list: Span[]): Set<string> {
  const out = new Set<string>();
  for (const s of list) {
    if (s.localEndpoint?.serviceName) out.add(s.localEndpoint.serviceName);
    if (s.remoteEndpoint?.serviceName) out.add(s.remoteEndpoint.serviceName);
  }
  return out;
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://collector');
  if (req.method === 'POST' && url.pathname === '/api/v2/spans') {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return json(res, 400, { error: 'body is not JSON' });
      }
      if (!Array.isArray(body) || !body.every(isSpan)) return json(res, 400, { error: 'expected a JSON array of Zipkin v2 spans' });
      store(body);
      res.writeHead(202, { 'content-length': 0 });
      res.end();
    });
    return;
  }
  if (req.method !== 'GET') return json(res, 405, { error: 'method not allowed' });
  if (url.pathname === '/health' || url.pathname === '/') return json(res, 200, { status: 'UP', spans: stored, traces: traces.size });
  if (url.pathname === '/api/v2/services') {
    const all = new Set<string>();
    for (const list of traces.values()) for (const s of services(list)) all.add(s);
    return json(res, 200, [...all].sort());
  }
  if (url.pathname === '/api/v2/traces') {
    const service = url.searchParams.get('serviceName');
    const limit = Math.max(1, Math.min(1000, Number(url.searchParams.get('limit') ?? 10) || 10));
    const out: Span[][] = [];
    for (const list of [...traces.values()].reverse()) {
      if (service && !services(list).has(service)) continue;
      out.push(list);
      if (out.length >= limit) break;
    }
    return json(res, 200, out);
  }
  const m = /^\/api\/v2\/trace\/([0-9a-fA-F]{16,32})$/.exec(url.pathname);
  if (m) {
    const list = traces.get(m[1].toLowerCase().padStart(32, '0'));
    return list ? json(res, 200, list) : json(res, 404, { error: `trace ${m[1]} not found` });
  }
  json(res, 404, { error: 'not found' });
});

const args = process.argv.slice(2);
const i = args.indexOf('--port');
const port = Number(process.env.PORT ?? (i >= 0 ? args[i + 1] : '9411'));
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`zipkin: "${port}" is not a port`);
  process.exit(2);
}
server.listen(port, () => console.log(`zipkin collector listening on :${(server.address() as { port: number }).port}`));
