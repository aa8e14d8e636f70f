/**
 * What the admin server shows about clusters, in Envoy's shapes: config_dump entries (the cluster as
 * configured), the /clusters text page (`name::host:port::stat::value`) and its JSON form.
 */
import type { ClusterImpl } from './cluster.js';
import type { HostImpl } from './host.js';
import type { JsonObject } from '../config/fields.js';

const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

export function clusterConfigDump(c: ClusterImpl, lastUpdated: Date, versionInfo: string | undefined, isStatic: boolean): JsonObject {
  const out: JsonObject = { cluster: { '@type': CLUSTER_TYPE, ...c.cfg.json }, last_updated: lastUpdated.toISOString() };
  if (versionInfo !== undefined && !isStatic) out.version_info = versionInfo;
  out.static = isStatic;
  return out;
}

function hostStats(h: HostImpl): [string, number][] {
  return [
    ['cx_active', h.activeConnections],
    ['cx_connect_fail', h.cxConnectFail],
    ['cx_total', h.cxTotal],
    ['rq_active', h.activeRequests],
    ['rq_error', h.rqError],
    ['rq_success', h.rqSuccess],
    ['rq_timeout', h.rqTimeout],
    ['rq_total', h.rqTotal],
  ];
}

export function renderClustersText(clusters: readonly ClusterImpl[]): string {
  const lines: string[] = [];
  for (const c of clusters) {
    const n = c.info.name;
    const b = c.cfg.breakers;
    lines.push(`${n}::observability_name::${c.cfg.statName}`);
    lines.push(`${n}::default_priority::max_connections::${b.maxConnections}`);
    lines.push(`${n}::default_priority::max_pending_requests::${b.maxPendingRequests}`);
    lines.push(`${n}::default_priority::max_requests::${b.maxRequests}`);
    lines.push(`${n}::default_priority::max_retries::${b.maxRetries}`);
    lines.push(`${n}::added_via_api::${c.addedViaApi}`);
    for (const h of c.hosts) {
      const p = `${n}::${h.addressString}::`;
      for (const [k, v] of hostStats(h)) lines.push(`${p}${k}::${v}`);
      lines.push(`${p}hostname::${h.hostname ?? ''}`);
      lines.push(`${p}health_flags::${h.healthFlags()}`);
      lines.push(`${p}weight::${h.weight}`);
      lines.push(`${p}region::${h.locality.region}`);
      lines.push(`${p}zone::${h.locality.zone}`);
      lines.push(`${p}sub_zone::${h.locality.subZone}`);
      lines.push(`${p}canary::false`);
      lines.push(`${p}priority::${h.priority}`);
      lines.push(`${p}success_rate::-1`);
      lines.push(`${p}local_origin_success_rate::-1`);
    }
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

export interface ClusterStatusJson {
  [key: string]: unknown;
  name: string;
}

export function clusterStatusJson(c: ClusterImpl): ClusterStatusJson {
  const b = c.cfg.breakers;
  return {
    name: c.info.name,
    observability_name: c.cfg.statName,
    added_via_api: c.addedViaApi,
    circuit_breakers: {
      thresholds: [{ priority: 'DEFAULT', max_connections: b.maxConnections, max_pending_requests: b.maxPendingRequests, max_requests: b.maxRequests, max_retries: b.maxRetries }],
    },
    host_statuses: c.hosts.map((h) => {
      const health: Record<string, unknown> = { eds_health_status: h.edsHealth === 'UNKNOWN' ? 'HEALTHY' : h.edsHealth };
      if (h.ejected) health.failed_outlier_check = true;
      const status: Record<string, unknown> = {
        address: { socket_address: { address: h.address, port_value: h.port } },
        stats: hostStats(h).map(([name, value]) => (name.endsWith('_active') ? { type: 'GAUGE', name, value } : { name, value })),
        health_status: health,
        weight: h.weight,
        locality: { region: h.locality.region, zone: h.locality.zone, sub_zone: h.locality.subZone },
        priority: h.priority,
      };
      if (h.hostname) status.hostname = h.hostname;
      return status;
    }),
  };
}
