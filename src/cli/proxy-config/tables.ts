/**
 * `sailfin proxy-config` tables, laid out like `istioctl proxy-config` so its users read them at a glance.
 */
import { X509Certificate } from 'node:crypto';
import { parseClusterName } from '../../pilot/names.js';
import { clustersOf, listenersOf, routesOf, secretsOf } from './config-dump.js';

type Json = Record<string, unknown>;

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

function socketOf(l: Json): { address: string; port: string } {
  const sa = ((l.address as Json | undefined)?.socket_address ?? {}) as Json;
  return { address: String(sa.address ?? ''), port: String(sa.port_value ?? '') };
}

function describeMatch(m: Json | undefined): string {
  if (!m || Object.keys(m).length === 0) return 'ALL';
  const parts: string[] = [];
  if (m.destination_port !== undefined) parts.push(`Port: ${m.destination_port}`);
  if (m.server_names) parts.push(`SNI: ${(m.server_names as string[]).join(',')}`);
  if (m.transport_protocol) parts.push(`Trans: ${m.transport_protocol}`);
  if (m.application_protocols) parts.push(`App: ${(m.application_protocols as string[]).join(',')}`);
  if (m.prefix_ranges) parts.push(`Addr: ${(m.prefix_ranges as Json[]).map((r) => `${r.address_prefix}/${r.prefix_len ?? 32}`).join(',')}`);
  return parts.join('; ') || 'ALL';
}

function describeDestination(chain: Json): string {
  for (const f of (chain.filters as Json[] | undefined) ?? []) {
    const tc = (f.typed_config ?? {}) as Json;
    if (tc.rds) return `Route: ${(tc.rds as Json).route_config_name}`;
    if (tc.route_config) {
      const rc = tc.route_config as Json;
      const vhosts = (rc.virtual_hosts as Json[] | undefined) ?? [];
      const cluster = (((vhosts[0]?.routes as Json[] | undefined)?.[0]?.route as Json | undefined)?.cluster as string | undefined) ?? '';
      return vhosts.length === 1 && cluster ? `Inline Route: ${cluster}` : `Inline Route: ${rc.name ?? ''}`;
    }
    if (tc.cluster) return `Cluster: ${tc.cluster}`;
    if (tc.weighted_clusters) return `Clusters: ${((tc.weighted_clusters as Json).clusters as Json[]).map((c) => `${c.name} (${c.weight})`).join(', ')}`;
  }
  return 'Non-HTTP/Non-TCP';
}

export function listenersTable(dump: Json): string {
  const rows: string[][] = [];
  for (const l of listenersOf(dump)) {
    const { address, port } = socketOf(l);
    const chains = [...((l.filter_chains as Json[] | undefined) ?? []), ...(l.default_filter_chain ? [l.default_filter_chain as Json] : [])];
    if (chains.length === 0) rows.push([String(l.name), address, port, 'ALL', 'none']);
    for (const c of chains) rows.push([String(l.name), address, port, describeMatch(c.filter_chain_match as Json | undefined), describeDestination(c)]);
  }
  return table(['NAME', 'ADDRESSES', 'PORT', 'MATCH', 'DESTINATION'], rows);
}

export function clustersTable(dump: Json): string {
  const rows = clustersOf(dump).map((c) => {
    const name = String(c.name);
    const parsed = parseClusterName(name);
    const type = String(c.type ?? (c.cluster_type ? 'CUSTOM' : 'STATIC'));
    if (!parsed) return [name, '-', '-', '-', type];
    return [parsed.hostname || name, String(parsed.port), parsed.subset || '-', parsed.direction, type];
  });
  return table(['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE'], rows);
}

function describeRouteMatch(match: Json | undefined): string {
  if (!match) return '/*';
  if (match.path !== undefined) return String(match.path);
  if (match.prefix !== undefined) return `${match.prefix === '/' ? '' : match.prefix}/*`.replace('//*', '/*');
  if (match.safe_regex) return `~${(match.safe_regex as Json).regex}`;
  return '*';
}

export function routesTable(dump: Json): string {
  const rows: string[][] = [];
  for (const rc of routesOf(dump)) {
    for (const vh of (rc.virtual_hosts as Json[] | undefined) ?? []) {
      const domains = (vh.domains as string[] | undefined) ?? [];
      const shown = domains.length > 1 ? `${domains[0]} +${domains.length - 1} more...` : (domains[0] ?? '');
      for (const r of (vh.routes as Json[] | undefined) ?? []) {
        const vs = (((r.metadata as Json | undefined)?.filter_metadata as Json | undefined)?.istio as Json | undefined)?.config as string | undefined;
        const vsName = vs ? vs.split('/').slice(-1)[0] + '.' + vs.split('/')[vs.split('/').indexOf('namespaces') + 1] : '-';
        rows.push([String(rc.name), String(vh.name), shown, describeRouteMatch(r.match as Json | undefined), vsName]);
      }
    }
  }
  return table(['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE'], rows);
}

function pemOf(source: Json | undefined): string | undefined {
  if (!source) return undefined;
  if (typeof source.inline_string === 'string') return source.inline_string;
  if (typeof source.inline_bytes === 'string') return Buffer.from(source.inline_bytes, 'base64').toString('utf8');
  return undefined;
}

export function secretsTable(dump: Json): string {
  const rows: string[][] = [];
  for (const s of secretsOf(dump)) {
    const tls = s.tls_certificate as Json | undefined;
    const validation = s.validation_context as Json | undefined;
    const pem = pemOf((tls?.certificate_chain ?? validation?.trusted_ca) as Json | undefined);
    let valid = 'false';
    let serial = '-';
    let notAfter = '-';
    let notBefore = '-';
    let identity = '-';
    if (pem) {
      try {
        const cert = new X509Certificate(pem);
        const now = Date.now();
        valid = String(now >= Date.parse(cert.validFrom) && now <= Date.parse(cert.validTo));
        serial = cert.serialNumber.toLowerCase();
        notAfter = new Date(cert.validTo).toISOString();
        notBefore = new Date(cert.validFrom).toISOString();
        identity = cert.subjectAltName?.match(/URI:(spiffe:\/\/[^,\s]+)/)?.[1] ?? '-';
      } catch {
        valid = 'unparsable';
      }
    }
    rows.push([String(s.name), tls ? 'Cert Chain' : 'CA', 'ACTIVE', valid, serial, notAfter, notBefore, identity]);
  }
  return table(['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE', 'IDENTITY'], rows);
}

/** `/clusters?format=json` (Envoy's ClusterStatuses) → one row per host. */
export function endpointsTable(clusters: Json): string {
  const rows: string[][] = [];
  for (const c of (clusters.cluster_statuses as Json[] | undefined) ?? []) {
    for (const h of (c.host_statuses as Json[] | undefined) ?? []) {
      const sa = ((h.address as Json | undefined)?.socket_address ?? {}) as Json;
      const hs = (h.health_status ?? {}) as Json;
      const ejected = hs.failed_outlier_check === true;
      const healthy = !ejected && (hs.eds_health_status === undefined || hs.eds_health_status === 'HEALTHY');
      rows.push([`${sa.address}:${sa.port_value}`, healthy ? 'HEALTHY' : 'UNHEALTHY', ejected ? 'FAILED' : 'OK', String(c.name)]);
    }
  }
  return table(['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'], rows);
}
