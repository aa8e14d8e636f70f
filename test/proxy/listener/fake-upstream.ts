/**
 * Shared pieces of the listener tests: a proxy context with the real cluster manager, TCP echo
 * backends, and a client that exchanges bytes once.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ClusterManagerImpl } from '../../../src/proxy/upstream/cluster-manager.js';
import { pino } from 'pino';
import type { ProxyContext } from '../../../src/proxy/context.js';
import { SecretProviderImpl } from '../../../src/proxy/tls/secret-provider.js';
import { StatsStore } from '../../../src/proxy/stats/store.js';

/** The real cluster manager, with a shorthand for STATIC clusters on loopback. */
export class TestClusters extends ClusterManagerImpl {
  add(name: string, endpoints: Array<[string, number]>): void {
    this.addOrUpdate(
      {
        name,
        type: 'STATIC',
        connect_timeout: '1s',
        load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: endpoints.map(([address, port]) => ({ endpoint: { address: { socket_address: { address, port_value: port } } } })) }] },
      },
      `clusters[${name}]`,
    );
  }
}

export function testContext(): { ctx: ProxyContext; clusters: TestClusters; secrets: SecretProviderImpl } {
  const stats = new StatsStore();
  const secrets = new SecretProviderImpl();
  const clusters = new TestClusters({ stats, secrets });
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

/**
 * Connects (from `localAddress` when given, e.g. another 127.x address standing in for another pod),
 * sends `data`, and resolves with everything received until `expectLen` bytes or close.
 */
export function exchange(port: number, data: string | Buffer, expectLen: number, timeoutMs = 3000, localAddress?: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress });
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
