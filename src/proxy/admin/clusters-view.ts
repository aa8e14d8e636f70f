/**
 * `/clusters` in Envoy's text form (`name::host:port::stat::value` lines) or JSON (cluster_statuses).
 */
import type { AdminTarget } from './admin-target.js';

export function renderClusters(t: AdminTarget, format: 'text' | 'json'): string | object {
  const lines: string[] = [];
  const statuses: object[] = [];
  for (const name of [...t.clusterNames()].sort()) {
    const hosts = t.clusterHosts(name);
    const hostStatuses: object[] = [];
    for (const h of hosts) {
      const p = `${name}::${h.addressString}`;
      const health = h.healthy() ? 'healthy' : '/failed_outlier_check';
      lines.push(`${p}::cx_active::${h.activeConnections}`, `${p}::rq_active::${h.activeRequests}`, `${p}::weight::${h.weight}`, `${p}::health_flags::${health}`, `${p}::hostname::${h.hostname ?? ''}`);
      hostStatuses.push({
        address: { socket_address: { address: h.address, port_value: h.port } },
        stats: [
          { name: 'cx_active', type: 'GAUGE', value: String(h.activeConnections) },
          { name: 'rq_active', type: 'GAUGE', value: String(h.activeRequests) },
        ],
        health_status: { eds_health_status: 'HEALTHY', failed_outlier_check: !h.healthy() },
        weight: h.weight,
        hostname: h.hostname ?? '',
      });
    }
    if (hosts.length === 0) lines.push(`${name}::default_priority::max_connections::unknown`);
    statuses.push({ name, host_statuses: hostStatuses });
  }
  return format === 'json' ? { cluster_statuses: statuses } : lines.join('\n') + '\n';
}
