/**
 * The app's own metrics, merged into the sidecar's 15020 /stats/prometheus (Istio's metrics
 * merging): the injector moved the app's prometheus.io/* annotations into ISTIO_PROMETHEUS_ANNOTATIONS,
 * and each scrape of 15020 fetches the app's page and appends it, so Prometheus keeps getting both.
 * A failing app costs its own metrics only: the proxy's are served regardless.
 */
import http from 'node:http';
import { SailfinError } from '../../common/errors.js';
import { localAddressFor } from './app-probers.js';

export const PROMETHEUS_ANNOTATIONS_ENV = 'ISTIO_PROMETHEUS_ANNOTATIONS';

export interface AppScrape {
  host: string;
  port: number;
  path: string;
}

export function parseAppScrape(text: string, podIp = '127.0.0.1'): AppScrape | undefined {
  let json: { scrape?: unknown; port?: unknown; path?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (err) {
    throw new SailfinError('schema', `not JSON: ${(err as Error).message}`, { field: PROMETHEUS_ANNOTATIONS_ENV });
  }
  if (String(json.scrape).toLowerCase() !== 'true') return undefined;
  const port = Number(json.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SailfinError('schema', `port ${JSON.stringify(json.port)} is not a port number`, { field: `${PROMETHEUS_ANNOTATIONS_ENV}.port` });
  const path = typeof json.path === 'string' && json.path.startsWith('/') ? json.path : '/metrics';
  return { host: podIp, port, path };
}

/** The app's metrics text, or '' when it cannot be had within `timeoutMs` (never rejects). */
export function fetchAppMetrics(scrape: AppScrape, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: scrape.host, port: scrape.port, path: scrape.path, localAddress: localAddressFor(scrape.host), timeout: timeoutMs, headers: { accept: 'text/plain' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return resolve('');
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve(text === '' || text.endsWith('\n') ? text : `${text}\n`);
      });
      res.on('error', () => resolve(''));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(''));
  });
}
