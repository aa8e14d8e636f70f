/** Real loopback backends and small helpers shared by the upstream tests. */
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { StatsStore } from '../../../src/proxy/stats/store.js';
import { ClusterManagerImpl } from '../../../src/proxy/upstream/cluster-manager.js';
import type { Cluster, ConnectResult, Host } from '../../../src/proxy/upstream/api.js';
import type { Json, JsonObject } from '../../../src/proxy/config/fields.js';

export interface Backend {
  name: string;
  port: number;
  server: Server;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A TCP server that writes its name to every connection it accepts. */
export async function startBackend(name: string): Promise<Backend> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.write(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    server,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function staticCluster(name: string, ports: number[], extra: JsonObject = {}): JsonObject {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }],
    },
    ...extra,
  };
}

export function lbEndpoint(port: number, extra: JsonObject = {}, address = '127.0.0.1'): JsonObject {
  return { endpoint: { address: { socket_address: { address, port_value: port } } }, ...extra };
}

export function newManager(): { cm: ClusterManagerImpl; stats: StatsStore } {
  const stats = new StatsStore();
  return { cm: new ClusterManagerImpl({ stats }), stats };
}

export function connectAsync(cluster: Cluster, host: Host, alpn?: string[]): Promise<ConnectResult> {
  return new Promise((resolve, reject) => cluster.connect(host, alpn, (err, res) => (err ? reject(err) : resolve(res!))));
}

/** Connects through the cluster to the host it picks and returns the backend's name. */
export async function fetchName(cluster: Cluster, host: Host): Promise<string> {
  const { socket } = await connectAsync(cluster, host);
  return new Promise((resolve, reject) => {
    let data = '';
    socket.on('data', (d: Buffer) => {
      data += d.toString();
      socket.destroy();
    });
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}

export function counts<T>(items: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}

export function pickMany(cluster: Cluster, n: number, ctx: Parameters<Cluster['chooseHost']>[0] = {}): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(cluster.chooseHost(ctx)?.addressString ?? 'none');
  return out;
}

export const asJson = (v: unknown): Json => v as Json;
