/**
 * Plain requests to the API server with the credentials of a kubeconfig (client certificates,
 * bearer token, CA bundle: whatever @kubernetes/client-node resolves), used for lists and for the
 * few writes the control plane makes (leases, webhook caBundle, root-cert ConfigMaps). Watches go
 * through client-node's Watch; these callers need the status code and body of every answer (410,
 * 404, 409 included) to decide what to do, which the generated API clients turn into exceptions.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

export class ApiStatusError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function getJson(kc: KubeConfig, path: string, query: Record<string, string | undefined>, timeoutMs = 30_000): Promise<ApiAnswer> {
  return requestJson(kc, 'GET', path, { query, timeoutMs });
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Default application/json; PATCH needs one of the patch media types. */
  contentType?: string;
  timeoutMs?: number;
}

export async function requestJson(kc: KubeConfig, method: string, path: string, opts: RequestOptions = {}): Promise<ApiAnswer> {
  const { query = {}, timeoutMs = 30_000 } = opts;
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const headers: Record<string, string | number> = { accept: 'application/json' };
  if (payload) Object.assign(headers, { 'content-type': opts.contentType ?? 'application/json', 'content-length': payload.length });
  const options: https.RequestOptions = { method, headers };
  await kc.applyToHTTPSOptions(options);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, { ...options, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // a proxy in front of the API server may answer in plain text; keep it for the message
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The Status message of an error answer, for logs. */
export function answerMessage(a: ApiAnswer): string {
  const body = a.body as { message?: unknown } | string;
  const text = typeof body === 'string' ? body : typeof body?.message === 'string' ? body.message : JSON.stringify(body);
  return `HTTP ${a.status}: ${text.slice(0, 300)}`;
}
