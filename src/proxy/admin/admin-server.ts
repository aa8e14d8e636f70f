/**
 * The admin endpoint (Envoy's :15000): config_dump, clusters, listeners, stats (text and
 * Prometheus), ready, server_info, drain_listeners, quitquitquit. Uses node:http because it is
 * not on the request path. Mutating endpoints require POST, as in Envoy.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { formatAddress } from '../listener/address.js';
import { renderPrometheus, renderText } from '../stats/render.js';
import { logAll, type AccessLog } from '../stats/access-log.js';
import { newStreamInfo } from '../stream-info.js';
import type { AdminTarget } from './admin-target.js';
import { APP_HEALTH_PREFIX, serveAppHealth, type AppProbers } from './app-probers.js';
import { renderServerStats } from './server-stats.js';
import { fetchAppMetrics, type AppScrape } from './app-metrics.js';

const JSON_TYPE = 'application/json';
const TEXT_TYPE = 'text/plain; charset=UTF-8';

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache, max-age=0', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, JSON_TYPE, JSON.stringify(value, null, 2) + '\n');
}

type Handler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => void;

export class AdminServer {
  private server: Server | undefined;
  port = 0;
  private readonly routes: Record<string, { post?: boolean; help: string; handle: Handler }>;

  constructor(
    private readonly target: AdminTarget,
    private readonly accessLogs: readonly AccessLog[] = [],
  ) {
    const t = target;
    this.routes = {
      '/': { help: 'this list', handle: (_q, res) => this.help(res) },
      '/config_dump': { help: 'the running config (ConfigDump)', handle: (_q, res, q) => sendJson(res, t.configDump(q.get('resource') ?? undefined)) },
      '/clusters': {
        help: 'upstream clusters and hosts',
        handle: (_q, res, q) => (q.get('format') === 'json' ? sendJson(res, t.clustersJson()) : send(res, 200, TEXT_TYPE, t.clustersText())),
      },
      '/listeners': {
        help: 'listeners and their bound addresses',
        handle: (_q, res, q) => {
          const ls = t.listeners();
          if (q.get('format') === 'json') sendJson(res, { listener_statuses: ls.map((l) => ({ name: l.name, local_address: { socket_address: { address: l.address, port_value: l.port } } })) });
          else send(res, 200, TEXT_TYPE, ls.map((l) => `${l.name}::${formatAddress(l.address, l.port)}`).join('\n') + '\n');
        },
      },
      '/stats': {
        help: 'statistics (?filter=REGEX, ?format=prometheus|json)',
        handle: (_q, res, q) => {
          if (q.get('format') === 'prometheus') return send(res, 200, TEXT_TYPE, renderPrometheus(t.stats, t.clusterNames()));
          let filter: RegExp | undefined;
          try {
            filter = q.get('filter') ? new RegExp(q.get('filter')!) : undefined;
          } catch {
            return send(res, 400, TEXT_TYPE, 'invalid filter regex\n');
          }
          if (q.get('format') === 'json') {
            const stats = renderText(t.stats, filter)
              .trim()
              .split('\n')
              .filter(Boolean)
              .map((l) => {
                const i = l.lastIndexOf(': ');
                const v = Number(l.slice(i + 2));
                return { name: l.slice(0, i), value: Number.isFinite(v) ? v : l.slice(i + 2) };
              });
            return sendJson(res, { stats });
          }
          send(res, 200, TEXT_TYPE, renderText(t.stats, filter));
        },
      },
      '/stats/prometheus': { help: 'statistics in Prometheus format', handle: (_q, res) => send(res, 200, 'text/plain; version=0.0.4', renderPrometheus(t.stats, t.clusterNames())) },
      '/ready': {
        help: 'LIVE when serving',
        handle: (_q, res) => {
          const state = t.state();
          send(res, state === 'LIVE' ? 200 : 503, TEXT_TYPE, state + '\n');
        },
      },
      '/server_info': { help: 'version, state, node, uptime', handle: (_q, res) => sendJson(res, t.serverInfo()) },
      '/drain_listeners': {
        post: true,
        help: 'stop accepting connections; open ones drain',
        handle: (_q, res) => {
          t.drainListeners();
          send(res, 200, TEXT_TYPE, 'OK\n');
        },
      },
      '/quitquitquit': {
        post: true,
        help: 'exit the proxy',
        handle: (_q, res) => {
          send(res, 200, TEXT_TYPE, 'OK\n');
          setImmediate(() => t.quit());
        },
      },
      '/healthz/ready': { help: "Istio's readiness check", handle: (_q, res) => this.healthz(res) },
    };
  }

  private help(res: ServerResponse): void {
    const lines = Object.entries(this.routes).map(([p, r]) => `  ${p}${r.post ? ' (POST)' : ''}: ${r.help}`);
    send(res, 200, TEXT_TYPE, `admin commands are:\n${lines.join('\n')}\n`);
  }

  healthz(res: ServerResponse): void {
    const state = this.target.state();
    send(res, state === 'LIVE' ? 200 : 503, TEXT_TYPE, state === 'LIVE' ? '\n' : `${state}\n`);
  }

  prometheus(res: ServerResponse): void {
    send(res, 200, 'text/plain; version=0.0.4', renderPrometheus(this.target.stats, this.target.clusterNames()));
  }

  /** The proxy's metrics followed by the app's (Istio's merged metrics on 15020). */
  mergedPrometheus(res: ServerResponse, app: AppScrape): void {
    void fetchAppMetrics(app).then((appText) => {
      send(res, 200, 'text/plain; version=0.0.4', renderPrometheus(this.target.stats, this.target.clusterNames()) + appText);
    });
  }

  /** Envoy's own Prometheus endpoint (Istio's 15090): the stats plus the server.* gauges. */
  envoyPrometheus(res: ServerResponse): void {
    const text = renderPrometheus(this.target.stats, this.target.clusterNames());
    send(res, 200, 'text/plain; version=0.0.4', text + renderServerStats(this.target, text));
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.accessLogs.length) this.logOnFinish(req, res);
    const url = new URL(req.url ?? '/', 'http://admin');
    const route = this.routes[url.pathname];
    if (!route) return send(res, 404, TEXT_TYPE, `invalid path; try GET /\n`);
    if (route.post && req.method !== 'POST') return send(res, 405, TEXT_TYPE, 'This endpoint requires POST\n');
    try {
      route.handle(req, res, url.searchParams);
    } catch (err) {
      send(res, 500, TEXT_TYPE, `${(err as Error).message}\n`);
    }
  }

  private logOnFinish(req: IncomingMessage, res: ServerResponse): void {
    const info = newStreamInfo();
    info.method = req.method;
    info.path = req.url;
    info.protocol = `HTTP/${req.httpVersion}`;
    info.authority = req.headers.host;
    info.userAgent = req.headers['user-agent'];
    info.downstreamRemoteAddress = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    res.once('finish', () => {
      info.responseCode = res.statusCode;
      info.durationMs = Math.round(Number(process.hrtime.bigint() - info.startHr) / 1e6);
      logAll(this.accessLogs, info);
    });
  }

  async listen(address: string, port: number): Promise<number> {
    const server = createServer((req, res) => this.handle(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  close(): void {
    this.server?.closeAllConnections();
    this.server?.close();
  }
}

/**
 * Istio's status ports in one: /healthz/ready (15021) and the merged /stats/prometheus (15020), the
 * only admin paths that may be exposed beyond loopback.
 */
export async function listenHealth(admin: AdminServer, address: string, port: number, opts: { appProbers?: AppProbers; appMetrics?: AppScrape; envoyProm?: boolean } = {}): Promise<{ port: number; close(): void }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (opts.envoyProm) {
      // Envoy's 15090 serves its stats and nothing else.
      if (path === '/stats/prometheus') admin.envoyPrometheus(res);
      else send(res, 404, TEXT_TYPE, 'not found\n');
    } else if (path === '/healthz/ready') admin.healthz(res);
    else if (path === '/stats/prometheus') {
      if (opts.appMetrics) admin.mergedPrometheus(res, opts.appMetrics);
      else admin.prometheus(res);
    } else if (path.startsWith(APP_HEALTH_PREFIX)) serveAppHealth(opts.appProbers, path, res);
    else send(res, 404, TEXT_TYPE, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
