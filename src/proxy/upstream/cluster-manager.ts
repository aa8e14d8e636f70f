/**
 * All clusters of the proxy by name: added and replaced from CDS or the bootstrap (compiled first, so
 * a bad cluster changes nothing), removed, and fed endpoints by EDS. Requests look clusters up per
 * request, so a replacement applies to new requests while in-flight ones keep the object they hold.
 * EDS assignments are kept by service name, so a cluster that arrives (or is replaced) after its
 * endpoints starts with them.
 */
import type { ClusterManager } from './api.js';
import { ClusterImpl } from './cluster.js';
import { xxHash64Hex } from './hash.js';
import { compileClusterConfig } from './cluster-config.js';
import { compileLoadAssignment } from './load-assignment.js';
import { type ClusterStatusJson, clusterConfigDump, clusterStatusJson, renderClustersText } from './cluster-dump.js';
import { type Json, type JsonObject, isObject } from '../config/fields.js';
import type { SecretProvider } from '../tls/api.js';
import type { StatsStore } from '../stats/store.js';
import type { ProxyContext } from '../context.js';

export interface ClusterManagerDeps {
  stats: StatsStore;
  secrets?: SecretProvider;
  log?: Pick<ProxyContext['log'], 'warn'>;
}

interface Entry {
  cluster: ClusterImpl;
  /** From the bootstrap's static_resources (shown as static_clusters in config dumps). */
  static: boolean;
  versionInfo?: string;
  lastUpdated: Date;
  /** Fingerprint of the JSON it was built from, to recognise an unchanged resend. */
  text: string;
}

export class ClusterManagerImpl implements ClusterManager {
  private readonly clusters = new Map<string, Entry>();
  /**
   * The assignments EDS gave, as JSON (for config dumps and for clusters that arrive after their
   * endpoints, compiled again then): keeping the compiled endpoint list of every assignment as well
   * cost a 1,000-service sidecar about 0.8 MB for lists its clusters already hold as hosts.
   */
  private readonly assignments = new Map<string, JsonObject>();
  private readonly assignmentText = new Map<string, string>();
  private readonly deps: ClusterManagerDeps;
  /** See ClusterManager.endpointsVersion. */
  endpointsVersion = 0;

  /** Takes the stats store and secret provider (a ProxyContext without clusters/routes is fine). */
  constructor(deps: ClusterManagerDeps | Omit<ProxyContext, 'clusters' | 'routes'>) {
    this.deps = deps;
  }

  get(name: string): ClusterImpl | undefined {
    return this.clusters.get(name)?.cluster;
  }

  names(): string[] {
    return [...this.clusters.keys()];
  }

  /**
   * Add a cluster or replace the one with its name. Throws SailfinError (naming the field under
   * `path`) when the config is bad; the existing cluster is then left untouched.
   */
  addOrUpdate(json: Json, path: string, opts: { static?: boolean; versionInfo?: string } = {}): ClusterImpl {
    // State-of-the-world CDS resends every cluster on every push; like Envoy, an unchanged cluster is
    // kept as it is (hosts, outlier state, connection pools keyed by it), only its version moves on.
    const text = fingerprint(json);
    const name = isObject(json) && typeof json.name === 'string' ? json.name : undefined;
    const same = name !== undefined ? this.clusters.get(name) : undefined;
    if (same && same.text === text && same.static === (opts.static ?? false)) {
      same.versionInfo = opts.versionInfo;
      return same.cluster;
    }
    const cfg = compileClusterConfig(json, path);
    const old = this.clusters.get(cfg.name);
    const cluster = new ClusterImpl(cfg, {
      stats: this.deps.stats,
      secrets: this.deps.secrets,
      onDnsError: (c, name, err) => this.deps.log?.warn({ cluster: c, name, err: err.message }, 'DNS lookup failed; keeping the previous addresses'),
    });
    cluster.addedViaApi = !opts.static;
    if (cfg.type === 'EDS') {
      const json = this.assignments.get(cfg.edsServiceName);
      if (json) {
        const la = compileLoadAssignment(json, `endpoints[${cfg.edsServiceName}]`);
        cluster.setEndpoints(la.endpoints, la.overprovisioningFactor);
      }
    }
    this.clusters.set(cfg.name, { cluster, static: opts.static ?? false, versionInfo: opts.versionInfo, lastUpdated: new Date(), text });
    this.endpointsVersion++;
    // The old object keeps working for requests that hold it; only its timers and watches stop.
    old?.cluster.close();
    return cluster;
  }

  remove(name: string): boolean {
    const entry = this.clusters.get(name);
    if (!entry) return false;
    this.clusters.delete(name);
    this.endpointsVersion++;
    entry.cluster.close();
    this.deps.stats.removePrefix(`cluster.${entry.cluster.cfg.statName}.`);
    return true;
  }

  /**
   * EDS: a ClusterLoadAssignment for `serviceName` (its cluster_name: the EDS service_name, which is the
   * cluster name when none is set). Throws SailfinError on bad config, keeping the previous endpoints.
   */
  updateEndpoints(serviceName: string, claJson: Json, path = 'ClusterLoadAssignment'): void {
    const text = fingerprint(claJson);
    if (this.assignmentText.get(serviceName) === text) return; // an unchanged resend: nothing to rebuild
    const la = compileLoadAssignment(claJson, path);
    this.assignments.set(serviceName, la.json);
    this.assignmentText.set(serviceName, text);
    this.endpointsVersion++;
    for (const { cluster } of this.clusters.values()) {
      if (cluster.cfg.type === 'EDS' && cluster.cfg.edsServiceName === serviceName) {
        cluster.setEndpoints(la.endpoints, la.overprovisioningFactor);
        if (cluster.used) {
          cluster.stats.update_success.inc();
          if (la.endpoints.length === 0) cluster.stats.update_empty.inc();
        }
      }
    }
  }

  /** EDS removed the assignment: its clusters have no hosts until a new one comes. */
  removeEndpoints(serviceName: string): void {
    this.assignments.delete(serviceName);
    this.assignmentText.delete(serviceName);
    this.endpointsVersion++;
    for (const { cluster } of this.clusters.values()) {
      if (cluster.cfg.type === 'EDS' && cluster.cfg.edsServiceName === serviceName) cluster.setEndpoints([], 140);
    }
  }

  forEachEndpoint(fn: (address: string, metadata: Readonly<Record<string, unknown>>) => void): void {
    for (const { cluster } of this.clusters.values()) {
      if (cluster.cfg.type === 'ORIGINAL_DST') continue;
      for (const h of cluster.hosts) fn(h.address, h.metadata);
    }
  }

  /** One entry per cluster, Envoy's config_dump shape: {cluster, last_updated, version_info?, static}. */
  dump(): JsonObject[] {
    return [...this.clusters.values()].map((e) => clusterConfigDump(e.cluster, e.lastUpdated, e.versionInfo, e.static));
  }

  /** Envoy's ClustersConfigDump (`static_clusters` and `dynamic_active_clusters`) for /config_dump. */
  configDump(): JsonObject {
    const staticClusters: JsonObject[] = [];
    const dynamic: JsonObject[] = [];
    for (const e of this.clusters.values()) {
      const d = clusterConfigDump(e.cluster, e.lastUpdated, e.versionInfo, e.static);
      delete d.static;
      (e.static ? staticClusters : dynamic).push(d);
    }
    return { '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', static_clusters: staticClusters, dynamic_active_clusters: dynamic };
  }

  /** The assignments EDS gave us, for config dumps of endpoints. */
  endpointsDump(): JsonObject[] {
    return [...this.assignments.values()];
  }

  /** The text of Envoy's /clusters page. */
  clustersText(): string {
    return renderClustersText([...this.clusters.values()].map((e) => e.cluster));
  }

  /** /clusters?format=json. */
  clustersJson(): { cluster_statuses: ClusterStatusJson[] } {
    return { cluster_statuses: [...this.clusters.values()].map((e) => clusterStatusJson(e.cluster)) };
  }

  /** Stop every cluster's timers (proxy shutdown). */
  close(): void {
    for (const e of this.clusters.values()) e.cluster.close();
  }
}

/**
 * A 64-bit hash of the JSON text: enough to tell an unchanged resend, without keeping a second copy
 * of every cluster and assignment (~2 KB each in a 1,000-service mesh).
 */
function fingerprint(json: Json): string {
  return xxHash64Hex(JSON.stringify(json));
}
