/**
 * A tiny HTTP/1.1 GET client for the sample apps. It honours HTTP_PROXY so the same app works in
 * the local mesh's explicit mode (the sidecar as a forward proxy) and, unchanged, behind
 * transparent capture (netns mode, no HTTP_PROXY set).
 */
import http from 'node:http';

export interface GetResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** NO_PROXY as curl reads it: exact names, `.suffix`/`suffix` domains, or `*` for everything. */
function bypassesProxy(host: string): boolean {
  const list = (process.env.NO_PROXY ?? process.env.no_proxy ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return list.some((n) => n === '*' || h === n.replace(/^\./, '') || h.endsWith(n.startsWith('.') ? n : `.${n}`));
}

export function httpGet(url: string, headers: Record<string, string>, timeoutMs: number): Promise<GetResult> {
  const target = new URL(url);
  const proxy = process.env.HTTP_PROXY || process.env.http_proxy;
  const via = proxy && !bypassesProxy(target.hostname) ? new URL(proxy) : undefined;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: via ? via.hostname : target.hostname,
        port: via ? Number(via.port || 80) : Number(target.port || 80),
        path: via ? target.href : target.pathname + target.search,
        method: 'GET',
        headers: { ...headers, host: target.host },
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Headers an app must copy from its inbound request to its outbound calls (Istio's tracing doc). */
export const PROPAGATED_HEADERS = [
  'x-request-id',
  'traceparent',
  'tracestate',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'b3',
  'end-user',
  'user-agent',
  'cookie',
];

export function propagate(inbound: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of PROPAGATED_HEADERS) {
    const v = inbound[h];
    if (typeof v === 'string') out[h] = v;
  }
  return out;
}

export function listenPort(fallback: number): number {
  const p = Number(process.env.PORT ?? process.argv[2] ?? fallback);
  return Number.isInteger(p) && p >= 0 ? p : fallback;
}

export function podName(): string {
  return process.env.POD_NAME ?? process.env.HOSTNAME ?? 'local';
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Logs the port actually bound (PORT=0 picks a free one), which tests read from the app's stdout. */
export function announce(server: { address(): unknown }, label: string): void {
  const addr = server.address() as { port: number } | null;
  console.log(`${label} listening on ${addr?.port ?? '?'}`);
}
