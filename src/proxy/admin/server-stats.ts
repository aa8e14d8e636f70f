/**
 * Envoy's server.* gauges (live, state, uptime, memory) in Prometheus form, appended to what
 * Envoy's port 15090 serves: dashboards and alerts built for Istio (envoy_server_live,
 * envoy_server_uptime) read them, and they are there even before any traffic made other stats.
 */
import type { AdminTarget, ServerState } from './admin-target.js';

/** Envoy's numbering of server.state. */
const STATE_NUMBER: Record<ServerState, number> = { LIVE: 0, DRAINING: 1, PRE_INITIALIZING: 2, INITIALIZING: 3 };

function seconds(text: unknown): number {
  const n = Number.parseInt(String(text ?? '0'), 10);
  return Number.isFinite(n) ? n : 0;
}

/** The gauges `rendered` (the store's Prometheus text) does not already have. */
export function renderServerStats(target: Pick<AdminTarget, 'state' | 'serverInfo'>, rendered = ''): string {
  const state = target.state();
  const mem = process.memoryUsage();
  const gauges: [string, number][] = [
    ['envoy_server_live', state === 'LIVE' ? 1 : 0],
    ['envoy_server_state', STATE_NUMBER[state]],
    ['envoy_server_uptime', seconds(target.serverInfo().uptime_current_epoch)],
    ['envoy_server_memory_allocated', mem.heapUsed],
    ['envoy_server_memory_heap_size', mem.heapTotal],
    ['envoy_server_memory_physical_size', mem.rss],
  ];
  return gauges
    .filter(([name]) => !rendered.includes(`# TYPE ${name} `))
    .map(([name, value]) => `# TYPE ${name} gauge\n${name} ${value}\n`)
    .join('');
}
