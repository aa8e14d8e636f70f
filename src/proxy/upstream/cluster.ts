/**
 * One compiled cluster: its hosts (from the load assignment, EDS, DNS or original destinations), the
 * load balancer over them, circuit breakers, outlier detection, transport sockets and stats. The
 * router holds a Cluster for the life of a request, so a replaced cluster keeps serving the requests
 * that started on it while new ones go to its successor.
 */
import type { Cluster, ConnectResult, LbContext, OutlierResult, StaticReadOptions } from './api.js';
import type { ClusterConfig } from './cluster-config.js';
import { ClusterStatsImpl } from './cluster-stats.js';
import { openConnection } from './connect.js';
import { DnsDiscovery } from './discovery/dns.js';
import { OriginalDstHosts } from './discovery/original-dst.js';
import { type EndpointSpec, HostImpl, hostKey } from './host.js';
import { PriorityBalancer } from './lb/priority-balancer.js';
import { OutlierDetector } from './outlier-detector.js';
import { ResourceManagerImpl } from './resource-manager.js';
import { UpstreamTls } from './upstream-tls.js';
import type { SecretProvider } from '../tls/api.js';
import type { StatsStore } from '../stats/store.js';

/** Envoy's host_selection_retry_max_attempts as Istio sets it: re-picks to avoid previous hosts. */
const HOST_SELECTION_ATTEMPTS = 5;

function affectsBalancing(h: HostImpl, spec: EndpointSpec): boolean {
  return (
    h.weight !== spec.weight ||
    h.priority !== spec.priority ||
    h.edsHealth !== spec.health ||
    h.localityWeight !== spec.localityWeight ||
    h.locality.region !== spec.locality.region ||
    h.locality.zone !== spec.locality.zone ||
    h.locality.subZone !== spec.locality.subZone
  );
}

export interface ClusterDeps {
  stats: StatsStore;
  secrets?: SecretProvider;
  /** Called when a DNS lookup fails, for the proxy's log. */
  onDnsError?: (cluster: string, name: string, err: Error) => void;
}

export class ClusterImpl implements Cluster {
  readonly info: ClusterConfig['info'];
  /** Circuit breakers, made on first use (0.8 KB a cluster, and most clusters of a large mesh carry no traffic). */
  private breakers: ResourceManagerImpl | undefined;
  private readonly statsStore: StatsStore;
  readonly stats: ClusterStatsImpl;
  /** Every host, in the order the assignment listed them. */
  hosts: HostImpl[] = [];
  /**
   * Built on the first pick after each membership change (null until then): most clusters of a large
   * mesh never carry traffic, and a balancer is about 0.85 KB each (a ring or Maglev table far more).
   */
  private balancer: PriorityBalancer | null = null;
  /** Set once a membership change has been applied, so an unchanged push keeps the balancer's state. */
  private membershipSeen = false;
  private overprovisioningFactor = 140;
  private readonly outlier?: OutlierDetector;
  private readonly dns?: DnsDiscovery;
  private readonly originalDst?: OriginalDstHosts;
  /**
   * transports[i] for transport_socket_matches[i]; the last entry is the cluster's own transport_socket.
   * Built on first use (null until then) so idle clusters hold no TLS state or secret watches.
   */
  private readonly transports: (UpstreamTls | undefined | null)[];
  private readonly secrets?: SecretProvider;
  readonly createdAt = new Date();
  /** False for bootstrap (static_resources) clusters, as Envoy's /clusters added_via_api. */
  addedViaApi = true;
  closed = false;
  /** Set on the first chooseHost/connect: stats are registered (and membership stats kept) from then on. */
  used = false;

  get resources(): ResourceManagerImpl {
    return (this.breakers ??= new ResourceManagerImpl(this.cfg.breakers, this.statsStore, `cluster.${this.cfg.statName}.`));
  }

  get metadata(): Readonly<Record<string, unknown>> {
    return this.cfg.metadata;
  }

  constructor(readonly cfg: ClusterConfig, deps: ClusterDeps) {
    this.info = cfg.info;
    this.stats = new ClusterStatsImpl(deps.stats, `cluster.${cfg.statName}.`);
    this.statsStore = deps.stats;
    this.secrets = deps.secrets;
    this.transports = new Array(cfg.transportMatches.length + 1).fill(null);
    if (cfg.outlier) this.outlier = new OutlierDetector(cfg.outlier, this.stats, () => this.hosts, () => this.rebuild());
    switch (cfg.type) {
      case 'STATIC':
        this.setEndpoints(cfg.loadAssignment!.endpoints, cfg.loadAssignment!.overprovisioningFactor);
        break;
      case 'STRICT_DNS':
      case 'LOGICAL_DNS':
        this.dns = new DnsDiscovery(cfg, (specs) => this.setEndpoints(specs, cfg.loadAssignment!.overprovisioningFactor), (name, err) => deps.onDnsError?.(cfg.name, name, err));
        break;
      case 'ORIGINAL_DST':
        this.originalDst = new OriginalDstHosts(cfg.cleanupIntervalMs, (hosts) => {
          this.hosts = hosts;
          this.updateMembershipStats();
        });
        break;
      default:
        // EDS: no hosts until the manager passes an assignment.
        this.updateMembershipStats();
    }
  }

  /** Replace the host set, keeping the identity of hosts whose address and port are unchanged. */
  setEndpoints(specs: readonly EndpointSpec[], overprovisioningFactor: number): void {
    if (this.closed) return;
    if (this.cfg.type === 'LOGICAL_DNS' && this.hosts.length === 1 && specs.length === 1) {
      // One logical host that follows the name: new connections go to the new address, and its
      // counters and outlier state stay (Envoy's LOGICAL_DNS).
      const host = this.hosts[0];
      if (host.address !== specs[0].address) host.setAddress(specs[0].address);
      host.update(specs[0]);
      this.rebuild();
      return;
    }
    // The hosts by address are built per update rather than kept: a kept map cost every cluster of
    // a large mesh 0.6 KB for lookups that happen only here.
    const byKey = new Map<string, HostImpl>();
    for (const h of this.hosts) byKey.set(hostKey(h.address, h.port), h);
    const next = new Map<string, HostImpl>();
    const hosts: HostImpl[] = [];
    let changed = specs.length !== this.hosts.length;
    for (const spec of specs) {
      const key = hostKey(spec.address, spec.port);
      if (next.has(key)) continue; // a duplicate endpoint adds nothing, as in Envoy
      let host = byKey.get(key);
      if (host) {
        if (!changed && affectsBalancing(host, spec)) changed = true;
        host.update(spec);
      } else {
        host = new HostImpl(spec);
        changed = true;
      }
      next.set(key, host);
      hosts.push(host);
    }
    const removed = this.hosts.filter((h) => next.get(hostKey(h.address, h.port)) !== h);
    if (removed.length) this.outlier?.hostsRemoved(removed);
    const orderChanged = !changed && hosts.some((h, i) => this.hosts[i] !== h);
    if ((changed || removed.length) && this.used) this.stats.membership_change.inc();
    const rebuild = changed || removed.length > 0 || orderChanged || overprovisioningFactor !== this.overprovisioningFactor || !this.membershipSeen;
    this.hosts = hosts;
    this.overprovisioningFactor = overprovisioningFactor;
    // A DNS refresh or EDS push that changes nothing the balancer reads keeps its state (round-robin
    // position, EDF deadlines, ring).
    if (rebuild) this.rebuild();
  }

  private markUsed(): void {
    this.used = true;
    this.stats.materialize();
    this.updateMembershipStats();
  }

  /** Rebuild the balancer after membership or health changed (on the next pick). */
  rebuild(): void {
    if (this.closed || this.cfg.lbPolicy === 'CLUSTER_PROVIDED') return;
    this.membershipSeen = true;
    this.balancer = null;
    this.updateMembershipStats();
  }

  private buildBalancer(): PriorityBalancer | null {
    const cfg = this.cfg;
    if (cfg.lbPolicy === 'CLUSTER_PROVIDED' || !this.membershipSeen) return null;
    this.balancer = new PriorityBalancer(this.hosts, {
      policy: cfg.lbPolicy as Exclude<typeof cfg.lbPolicy, 'CLUSTER_PROVIDED'>,
      panicThresholdPercent: cfg.panicThresholdPercent,
      overprovisioningFactor: this.overprovisioningFactor,
      localityWeighted: cfg.localityWeighted,
      ringHash: cfg.ringHash,
      maglevTableSize: cfg.maglevTableSize,
      leastRequest: cfg.leastRequest,
    });
    return this.balancer;
  }

  private updateMembershipStats(): void {
    if (!this.used) return;
    this.stats.membership_total.set(this.hosts.length);
    let healthy = 0;
    for (const h of this.hosts) if (h.healthy()) healthy++;
    this.stats.membership_healthy.set(healthy);
  }

  chooseHost(ctx: LbContext): HostImpl | null {
    if (!this.used) this.markUsed();
    if (this.originalDst) {
      const h = this.originalDst.choose(ctx);
      if (!h) this.stats.upstream_cx_none_healthy.inc();
      return h;
    }
    const b = this.balancer ?? this.buildBalancer();
    let host = b ? b.choose(ctx, 0) : null;
    const previous = ctx?.previousHosts;
    if (host && previous && previous.length > 0) {
      for (let attempt = 1; attempt < HOST_SELECTION_ATTEMPTS && previous.includes(host); attempt++) {
        const next = b!.choose(ctx, attempt);
        if (!next) break;
        host = next;
      }
    }
    if (!host) this.stats.upstream_cx_none_healthy.inc();
    return host;
  }

  connect(host: HostImpl, alpn: readonly string[] | undefined, cb: (err: Error | null, result?: ConnectResult) => void, onread?: StaticReadOptions): void {
    if (!this.used) this.markUsed();
    openConnection(
      {
        host,
        timeoutMs: this.info.connectTimeoutMs,
        keepaliveSeconds: this.cfg.keepalive ? this.cfg.keepalive.timeSeconds ?? 7200 : undefined,
        sourceAddress: this.cfg.sourceAddress,
        tls: this.transportFor(host),
        alpn,
        protocol: this.info.upstreamProtocol,
        stats: this.stats,
        connections: this.resources.connections,
        report: (h, r) => this.outlier?.report(h, r),
        onread,
      },
      cb,
    );
  }

  /** The transport socket for this host: the first transport_socket_matches entry its metadata satisfies. */
  transportFor(host: HostImpl): UpstreamTls | undefined {
    if (host.transportIndex < 0) host.transportIndex = this.matchTransport(host);
    const i = host.transportIndex;
    let t = this.transports[i];
    if (t === null) {
      const cfg = i < this.cfg.transportMatches.length ? this.cfg.transportMatches[i].socket : this.cfg.transport;
      t = this.transports[i] = cfg.kind === 'tls' ? new UpstreamTls(cfg, this.secrets) : undefined;
    }
    return t;
  }

  private matchTransport(host: HostImpl): number {
    const matches = this.cfg.transportMatches;
    const md = (host.metadata['envoy.transport_socket_match'] ?? {}) as Record<string, unknown>;
    for (let i = 0; i < matches.length; i++) {
      const want = matches[i].match;
      let ok = true;
      for (const k of Object.keys(want)) {
        if (JSON.stringify(md[k]) !== JSON.stringify(want[k])) {
          ok = false;
          break;
        }
      }
      if (ok) return i;
    }
    return matches.length;
  }

  /** Name of the transport socket match a host uses ('' for the cluster's own), for admin output. */
  transportMatchName(host: HostImpl): string {
    const i = host.transportIndex < 0 ? this.matchTransport(host) : host.transportIndex;
    return i < this.cfg.transportMatches.length ? this.cfg.transportMatches[i].name : '';
  }

  reportResult(host: HostImpl, result: OutlierResult): void {
    if (result.kind === 'http') {
      host.rqTotal++;
      if (result.status >= 500) host.rqError++;
      else host.rqSuccess++;
    } else if (result.kind === 'success') {
      host.rqTotal++;
      host.rqSuccess++;
    } else if (result.kind === 'timeout') {
      host.rqTimeout++;
      host.rqError++;
    } else if (result.kind === 'connect_failed') {
      // connect() has already told outlier detection; counting the caller's report too would make
      // one refused connection two consecutive failures.
      return;
    } else {
      host.rqError++;
    }
    this.outlier?.report(host, result);
  }

  /** Stop timers and secret watches; in-flight connections finish on their own. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.outlier?.close();
    this.dns?.close();
    this.originalDst?.close();
    for (const t of this.transports) t?.close();
  }
}
