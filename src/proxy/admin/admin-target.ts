/**
 * What the admin endpoint reads from the running proxy; proxy.ts implements it so the admin code
 * depends on no component directly.
 */
import type { JsonObject } from '../config/fields.js';
import type { ListenerStatus } from '../listener/listener-manager.js';
import type { StatsStore } from '../stats/store.js';

export type ServerState = 'PRE_INITIALIZING' | 'INITIALIZING' | 'LIVE' | 'DRAINING';

export interface AdminTarget {
  readonly stats: StatsStore;
  /** The whole ConfigDump, or only the configs of one resource type (`?resource=dynamic_listeners`). */
  configDump(resource?: string): JsonObject;
  clusterNames(): ReadonlySet<string>;
  /** Envoy's /clusters text and its ?format=json form. */
  clustersText(): string;
  clustersJson(): JsonObject;
  listeners(): ListenerStatus[];
  state(): ServerState;
  serverInfo(): JsonObject;
  drainListeners(): void;
  quit(): void;
}
