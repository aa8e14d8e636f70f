/**
 * Test harness: a real HCM network filter on a real loopback listener, with the real cluster
 * manager, and small real backends. Only the listener (accept → DownstreamConnection) is done here
 * instead of by the listener manager, so these tests stay about HTTP.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import pino from 'pino';
import type { AddressInfo } from 'node:net';
import '../../../src/proxy/http/connection-manager.js';
import { compileRouteConfiguration, type CompiledRouteConfig } from '../../../src/proxy/http/route-config.js';
import { networkFilterFactory, type NetworkFilter } from '../../../src/proxy/listener/connection.js';
import { installStaticReadAccept } from '../../../src/proxy/listener/static-reads.js';
import type { ProxyContext, RouteConfigHandle } from '../../../src/proxy/context.js';
import { StatsStore } from '../../../src/proxy/stats/store.js';
import { ClusterManagerImpl } from '../../../src/proxy/upstream/cluster-manager.js';
import type { JsonObject } from '../../../src/proxy/config/fields.js';

export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

export class MutableRoutes {
  readonly handles = new Map<string, { name: string; current: CompiledRouteConfig | undefined }>();
  subscribe(name: string): RouteConfigHandle {
    let h = this.handles.get(name);
    if (!h) this.handles.set(name, (h = { name, current: undefined }));
    return h;
  }
  set(json: JsonObject, ctx: ProxyContext): void {
    const compiled = compileRouteConfiguration(json, ctx, 'rds');
    const h = this.subscribe(compiled.name) as { current: CompiledRouteConfig | undefined };
    h.current = compiled;
  }
}

export interface TestProxy {
  port: number;
  ctx: ProxyContext;
  clusters: ClusterManagerImpl;
  routes: MutableRoutes;
  stats: StatsStore;
  filter: NetworkFilter;
  close(): Promise<void>;
}

export function staticCluster(name: string, ports: number[], extra: JsonObject = {}): JsonObject {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) }],
    },
    ...extra,
  };
}

export function simpleHcm(routeConfig: JsonObject, extra: JsonObject = {}, filters: JsonObject[] = []): JsonObject {
  return { '@type': HCM_TYPE, stat_prefix: 'test', route_config: routeConfig, http_filters: [...filters, ROUTER], ...extra };
}

export function routeTo(cluster: string, routeExtra: JsonObject = {}, match: JsonObject = { prefix: '/' }): JsonObject {
  return { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match, route: { cluster, ...routeExtra } }] }] };
}

export async function startProxy(hcm: JsonObject, clusters: JsonObject[], setup?: (p: Omit<TestProxy, 'port' | 'filter' | 'close'>) => void): Promise<TestProxy> {
  const stats = new StatsStore();
  const routes = new MutableRoutes();
  const log = pino({ level: 'silent' });
  const partial = { node: { id: 'test', cluster: 'test', metadata: {} }, stats, log, secrets: { subscribe: () => ({ current: undefined, onChange: () => () => undefined }) } };
  const cm = new ClusterManagerImpl(partial as never);
  const ctx: ProxyContext = { ...partial, clusters: cm, routes } as ProxyContext;
  clusters.forEach((c, i) => cm.addOrUpdate(c, `clusters[${i}]`, { static: true }));
  setup?.({ ctx, clusters: cm, routes, stats });
  const factory = networkFilterFactory(HCM_TYPE)!;
  const filter = factory(hcm, ctx, 'hcm');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    filter.onNewConnection({
      socket,
      remoteAddress: socket.remoteAddress!,
      remotePort: socket.remotePort!,
      localAddress: socket.localAddress!,
      localPort: socket.localPort!,
      transportProtocol: 'raw_buffer',
      listenerName: 'test',
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // Accept the way a plain-TCP listener does: reads through the shared static buffer (static-reads.ts).
  if (!installStaticReadAccept(server, () => true)) throw new Error('static-read accept is unavailable on this Node version');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    ctx,
    clusters: cm,
    routes,
    stats,
    filter,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      for (const n of cm.names()) cm.remove(n);
    },
  };
}

export interface Backend {
  port: number;
  requests: http.IncomingMessage[];
  bodies: string[];
  close(): Promise<void>;
}

/** A node:http backend; `handler` defaults to echoing a small JSON of what it saw. */
export async function startBackend(name: string, handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void): Promise<Backend> {
  const requests: http.IncomingMessage[] = [];
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      bodies.push(body);
      if (handler) return handler(req, res, body);
      const out = JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    bodies,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function request(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number; agent?: http.Agent | false } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Raw bytes in, everything the proxy sends until it closes (or the timeout) out. */
export function rawExchange(port: number, data: string | Buffer, timeoutMs = 3000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const t = setTimeout(() => {
      s.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    }, timeoutMs);
    s.on('data', (c) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => {
      closed = true;
      clearTimeout(t);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    });
    s.write(data);
  });
}

export function closeAgent(): void {
  agent.destroy();
}
