/**
 * Plain GETs against the API server with the credentials of a kubeconfig (client certificates,
 * bearer token, CA bundle: whatever @kubernetes/client-node resolves), used for list calls. Watches
 * go through client-node's Watch; lists need the status code and body of every answer, 410 included.
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
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  const options: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
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
    req.on('timeout', () => req.destroy(new Error(`GET ${url.pathname} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
