/**
 * The services every proxy component is compiled against: clusters, route tables, secrets,
 * stats, the node identity and the logger. One ProxyContext per proxy process; built by
 * proxy.ts and handed to each config compiler.
 */
import type { Logger } from 'pino';
import type { ClusterManager } from './upstream/api.js';
import type { SecretProvider } from './tls/api.js';
import type { StatsStore } from './stats/store.js';

export interface NodeInfo {
  readonly id: string;
  readonly cluster: string;
  /** `node.metadata` as plain JSON (Istio puts NAMESPACE, LABELS, SERVICE_ACCOUNT, … here). */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/**
 * Route tables by name (RDS or inline). The HCM holds a handle and reads `current` per new stream,
 * so a route update applies to new requests while in-flight ones finish on the table they started with.
 */
export interface RouteConfigHandle<T = unknown> {
  readonly name: string;
  readonly current: T | undefined;
}

export interface RouteConfigProvider<T = unknown> {
  subscribe(name: string): RouteConfigHandle<T>;
}

export interface ProxyContext {
  readonly node: NodeInfo;
  readonly clusters: ClusterManager;
  readonly routes: RouteConfigProvider;
  readonly secrets: SecretProvider;
  readonly stats: StatsStore;
  readonly log: Logger;
}
