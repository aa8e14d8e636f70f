/**
 * The control plane's monitoring port (Istio's 15014): readiness, Prometheus metrics and the xDS debug
 * views. Plain node:http; nothing here is on a request path that matters for speed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SailfinError } from '../common/errors.js';
import { configDump, syncz } from './debug-views.js';
import type { AdsServer } from './server.js';

export interface MonitoringServerOptions {
  ads: AdsServer;
  host?: string;
  /** Default 15014; 0 picks a free port. */
  port?: number;
  /** Extra readiness condition (e.g. "config loaded"); /ready is 503 until it and the ADS server are ready. */
  isReady?: () => boolean;
}

export class MonitoringServer {
  private readonly server: Server;
  private boundPort: number | undefined;

  constructor(private readonly options: MonitoringServerOptions) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<number> {
    const host = this.options.host ?? '0.0.0.0';
    const port = this.options.port ?? 15014;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(new SailfinError('runtime', `monitoring server cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    return this.boundPort;
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { ads } = this.options;
    switch (url.pathname) {
      case '/ready': {
        const ready = ads.ready && (this.options.isReady?.() ?? true);
        return send(res, ready ? 200 : 503, 'text/plain', ready ? 'ready\n' : 'not ready\n');
      }
      case '/metrics':
        return send(res, 200, 'text/plain; version=0.0.4', ads.metrics.render());
      case '/debug/syncz':
        return json(res, 200, syncz(ads.connections()));
      case '/debug/config_dump': {
        const id = url.searchParams.get('proxyID');
        if (!id) return json(res, 400, { error: 'give ?proxyID=<node id>; /debug/syncz lists them' });
        const conn = ads.connectionFor(id);
        if (!conn) return json(res, 404, { error: `proxy "${id}" is not connected` });
        return json(res, 200, configDump(conn));
      }
      default:
        return json(res, 404, { error: `no such endpoint ${url.pathname}`, endpoints: ['/ready', '/metrics', '/debug/syncz', '/debug/config_dump?proxyID='] });
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', JSON.stringify(body, null, 2) + '\n');
}
