/**
 * A minimal ClusterManager over real sockets for testing the listener and tcp_proxy on their own
 * (the real cluster manager is tested in test/proxy/upstream). Round-robin over static hosts.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import type { ProxyContext } from '../../../src/proxy/context.js';
import { SecretProviderImpl } from '../../../src/proxy/tls/secret-provider.js';
import { StatsStore } from '../../../src/proxy/stats/store.js';
import type { Cluster, ClusterManager, ClusterStats, Host, Resource } from '../../../src/proxy/upstream/api.js';

function resource(): Resource {
  return { max: 1024, active: 0, canCreate: () => true, inc() {}, dec() {} };
}

function host(address: string, port: number): Host {
  return {
    address,
    port,
    addressString: `${address}:${port}`,
    weight: 1,
    locality: { region: '', zone: '', subZone: '' },
    priority: 0,
    metadata: {},
    activeRequests: 0,
    activeConnections: 0,
    healthy: () => true,
  };
}

export class FakeClusters implements ClusterManager {
  private readonly clusters = new Map<string, Cluster>();
  constructor(private readonly stats: StatsStore) {}

  add(name: string, endpoints: Array<[string, number]>): void {
    const hosts = endpoints.map(([a, p]) => host(a, p));
    let next = 0;
    const s = this.stats;
    const c = (k: string) => s.counter(`cluster.${name}.${k}`);
    const g = (k: string) => s.gauge(`cluster.${name}.${k}`);
    const stats = new Proxy({} as ClusterStats, {
      get: (_t, k: string) => (k === 'other' ? (x: string) => c(x) : k.endsWith('_active') ? g(k) : k === 'upstream_rq_time' ? s.histogram(`cluster.${name}.${k}`) : c(k)),
    });
    this.clusters.set(name, {
      info: { name, connectTimeoutMs: 1000, maxRequestsPerConnection: 0, upstreamProtocol: 'http1', idleTimeoutMs: 0, tls: false, type: 'STATIC' },
      resources: { connections: resource(), pendingRequests: resource(), requests: resource(), retries: resource() },
      stats,
      chooseHost: (ctx) => {
        const candidates = hosts.filter((h) => !ctx.previousHosts?.includes(h));
        if (candidates.length === 0) return null;
        return candidates[next++ % candidates.length];
      },
      connect: (h, _alpn, cb) => {
        const sock = connect(h.port, h.address);
        sock.once('connect', () => {
          sock.removeAllListeners('error');
          cb(null, { socket: sock, localAddress: `${sock.localAddress}:${sock.localPort}` });
        });
        sock.once('error', (err) => cb(err));
      },
      reportResult: () => {},
    });
  }

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }
}

export function testContext(): { ctx: ProxyContext; clusters: FakeClusters; secrets: SecretProviderImpl } {
  const stats = new StatsStore();
  const clusters = new FakeClusters(stats);
  const secrets = new SecretProviderImpl();
  const ctx: ProxyContext = {
    node: { id: 'test', cluster: 'test', metadata: {} },
    clusters,
    routes: { subscribe: (name: string) => ({ name, current: undefined }) },
    secrets,
    stats,
    log: pino({ level: 'silent' }),
  };
  return { ctx, clusters, secrets };
}

/** A TCP server that answers every connection with `<tag>:` followed by what it receives. */
export async function echoServer(tag: string): Promise<{ port: number; server: Server; sockets: Set<Socket>; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.write(`${tag}:`);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    server,
    sockets,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Connects, sends `data`, and resolves with everything received until `expectLen` bytes or close. */
export function exchange(port: number, data: string | Buffer, expectLen: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
      resolve(got);
    }, timeoutMs);
    s.on('connect', () => s.write(data));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.length >= expectLen) {
        clearTimeout(t);
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
  });
}

export const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

export function tcpChain(cluster: string, match?: object, extra: object = {}): object {
  return {
    ...(match ? { filter_chain_match: match } : {}),
    filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: cluster, cluster } }],
    ...extra,
  };
}
