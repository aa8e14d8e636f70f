/**
 * Envoy's host selection above the LB policy: hosts grouped into priority levels; each level gets a
 * share of the traffic from its health (healthy fraction × overprovisioning factor, capped at 100 %),
 * the rest spills to the next level; a level below the panic threshold uses all its hosts. Within a
 * level, locality weights (locality_weighted_lb_config) pick a locality first. The balancer is rebuilt
 * whenever membership or health changes; choosing a host only reads what was built.
 */
import type { LbContext } from '../api.js';
import type { LbPolicy } from '../cluster-config.js';
import { type HostImpl, localityKey } from '../host.js';
import { EdfScheduler } from './edf.js';
import { LeastRequestPicker } from './least-request.js';
import { MaglevPicker } from './maglev.js';
import type { HostPicker } from './picker.js';
import { RandomPicker } from './random.js';
import { RingHashPicker } from './ring-hash.js';
import { RoundRobinPicker } from './round-robin.js';

export interface BalancerOptions {
  policy: Exclude<LbPolicy, 'CLUSTER_PROVIDED'>;
  panicThresholdPercent: number;
  /** Percent, from the load assignment (default 140). */
  overprovisioningFactor: number;
  localityWeighted: boolean;
  ringHash: { minRingSize: number; maxRingSize: number };
  maglevTableSize: number;
  leastRequest: { choiceCount: number; activeRequestBias: number };
}

interface LocalityPick {
  picker: HostPicker;
  weight: number;
}

interface Level {
  priority: number;
  hosts: HostImpl[];
  healthy: HostImpl[];
  panic: boolean;
  picker?: HostPicker;
  localities?: EdfScheduler<LocalityPick>;
  /** Cumulative load bound (0..100] for choosing this level. */
  loadUpTo: number;
}

const THREAD_AWARE: ReadonlySet<string> = new Set(['RING_HASH', 'MAGLEV']);

export class PriorityBalancer {
  private readonly levels: Level[] = [];
  readonly healthyCount: number;
  readonly totalCount: number;

  constructor(hosts: readonly HostImpl[], private readonly opts: BalancerOptions) {
    const byPriority = new Map<number, HostImpl[]>();
    for (const h of hosts) {
      let list = byPriority.get(h.priority);
      if (!list) byPriority.set(h.priority, (list = []));
      list.push(h);
    }
    let healthyCount = 0;
    for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
      const all = byPriority.get(priority)!;
      const healthy = all.filter((h) => h.healthy());
      healthyCount += healthy.length;
      const healthyPct = (100 * healthy.length) / all.length;
      this.levels.push({ priority, hosts: all, healthy, panic: healthyPct < opts.panicThresholdPercent, loadUpTo: 0 });
    }
    this.healthyCount = healthyCount;
    this.totalCount = hosts.length;
    this.assignLoad();
    for (const level of this.levels) this.buildPickers(level);
  }

  private assignLoad(): void {
    const levels = this.levels;
    if (levels.length === 0) return;
    const factor = this.opts.overprovisioningFactor / 100;
    const health = levels.map((l) => Math.min(100, Math.floor((factor * 100 * l.healthy.length) / l.hosts.length)));
    const total = Math.min(100, health.reduce((a, b) => a + b, 0));
    let loads: number[];
    if (total === 0) {
      // Nothing healthy anywhere. With a panic threshold, Envoy spreads traffic over every host
      // in proportion to host counts; with the threshold at 0 (Istio with outlier detection) there is
      // no host to pick and the caller answers "no healthy upstream".
      if (this.opts.panicThresholdPercent === 0) {
        for (const l of levels) l.loadUpTo = 0;
        return;
      }
      const count = this.totalCount;
      loads = levels.map((l) => (100 * l.hosts.length) / count);
      for (const l of levels) l.panic = true;
    } else if (total < 100) {
      // Not enough healthy capacity in all levels together: scale each level's share up.
      loads = health.map((h) => (100 * h) / total);
      this.markPanicFromTotal(total);
    } else {
      let remaining = 100;
      loads = health.map((h) => {
        const take = Math.min(h, remaining);
        remaining -= take;
        return take;
      });
    }
    let acc = 0;
    let lastLoaded = -1;
    levels.forEach((l, i) => {
      l.loadUpTo = acc += loads[i];
      if (loads[i] > 0) lastLoaded = i;
    });
    // Close the floating-point gap so a draw just under 100 still finds a level.
    for (let i = lastLoaded; i >= 0 && i < levels.length; i++) levels[i].loadUpTo = 100;
  }

  /** Envoy: once the levels together are below the panic threshold, every level is in panic. */
  private markPanicFromTotal(normalizedTotal: number): void {
    if (normalizedTotal < this.opts.panicThresholdPercent) for (const l of this.levels) l.panic = true;
  }

  private buildPickers(level: Level): void {
    const usable = level.panic ? level.hosts : level.healthy;
    const o = this.opts;
    if (THREAD_AWARE.has(o.policy)) {
      const weights = o.localityWeighted ? localityScaledWeights(usable) : usable.map((h) => h.weight);
      const pairs = usable.map((h, i) => ({ h, w: weights[i] })).filter((p) => p.w > 0);
      const hs = pairs.map((p) => p.h);
      const ws = pairs.map((p) => p.w);
      level.picker = o.policy === 'RING_HASH' ? new RingHashPicker(hs, ws, o.ringHash.minRingSize, o.ringHash.maxRingSize) : new MaglevPicker(hs, ws, o.maglevTableSize);
      return;
    }
    if (!o.localityWeighted) {
      level.picker = this.picker(usable);
      return;
    }
    const edf = new EdfScheduler<LocalityPick>();
    for (const group of groupByLocality(level.hosts)) {
      const healthy = group.hosts.filter((h) => h.healthy());
      const availability = level.panic ? 1 : Math.min(1, ((o.overprovisioningFactor / 100) * healthy.length) / group.hosts.length);
      const weight = group.weight * availability;
      if (weight <= 0) continue;
      edf.add({ picker: this.picker(level.panic ? group.hosts : healthy), weight }, weight);
    }
    level.localities = edf;
  }

  private picker(hosts: HostImpl[]): HostPicker {
    const o = this.opts;
    switch (o.policy) {
      case 'LEAST_REQUEST':
        return new LeastRequestPicker(hosts, o.leastRequest.choiceCount, o.leastRequest.activeRequestBias);
      case 'RANDOM':
        return new RandomPicker(hosts);
      default:
        return new RoundRobinPicker(hosts);
    }
  }

  /** The level for this request: by its hash for hash-based policies (stable), otherwise at random. */
  choose(ctx: LbContext | undefined, attempt: number): HostImpl | null {
    const levels = this.levels;
    if (levels.length === 0) return null;
    let level = levels[0];
    if (levels.length > 1 || level.loadUpTo < 100) {
      const r = ctx?.hash !== undefined && THREAD_AWARE.has(this.opts.policy) ? (ctx.hash >>> 0) % 100 : Math.random() * 100;
      let found: Level | undefined;
      for (const l of levels) {
        if (r < l.loadUpTo) {
          found = l;
          break;
        }
      }
      if (!found) return null;
      level = found;
    }
    if (level.picker) return level.picker.pick(ctx, attempt);
    const locality = level.localities?.pick(localityWeightUnchanged);
    return locality ? locality.picker.pick(ctx, attempt) : null;
  }
}

function localityWeightUnchanged(l: LocalityPick): number {
  return l.weight;
}

/** For hash-based policies: host weight × its locality's share, as Envoy folds localities into the ring. */
function localityScaledWeights(usable: readonly HostImpl[]): number[] {
  const factor = new Map<string, number>();
  const groups = groupByLocality(usable);
  const totalLocalityWeight = groups.reduce((a, g) => a + g.weight, 0) || 1;
  for (const g of groups) {
    const hostWeight = g.hosts.reduce((a, h) => a + h.weight, 0);
    factor.set(g.key, g.weight / totalLocalityWeight / hostWeight);
  }
  // Scaled up so the smallest shares stay well above rounding when the ring/table is built.
  return usable.map((h) => h.weight * (factor.get(localityKey(h.locality)) ?? 0) * 1e6);
}

interface LocalityGroup {
  key: string;
  weight: number;
  hosts: HostImpl[];
}

function groupByLocality(hosts: readonly HostImpl[]): LocalityGroup[] {
  const map = new Map<string, LocalityGroup>();
  for (const h of hosts) {
    const key = localityKey(h.locality);
    let g = map.get(key);
    if (!g) map.set(key, (g = { key, weight: h.localityWeight, hosts: [] }));
    g.hosts.push(h);
  }
  // Envoy drops localities that carry no weight when locality weighting is on.
  return [...map.values()].filter((g) => g.weight > 0);
}
