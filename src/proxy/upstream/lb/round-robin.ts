/**
 * ROUND_ROBIN: with equal weights a rotating index (starting at a random host so a fleet of proxies
 * does not hit the same first host); with weights, EDF so each host gets exactly its share, spread out.
 */
import type { LbContext } from '../api.js';
import type { HostImpl } from '../host.js';
import { EdfScheduler } from './edf.js';
import { type HostPicker, allWeightsEqual } from './picker.js';

export class RoundRobinPicker implements HostPicker {
  private next: number;
  private readonly edf?: EdfScheduler<HostImpl>;

  constructor(private readonly hosts: readonly HostImpl[]) {
    this.next = Math.floor(Math.random() * hosts.length);
    if (!allWeightsEqual(hosts.map((h) => h.weight))) {
      this.edf = new EdfScheduler<HostImpl>();
      for (const h of hosts) this.edf.add(h, h.weight);
    }
  }

  pick(_ctx: LbContext | undefined, _attempt: number): HostImpl | null {
    const hosts = this.hosts;
    if (hosts.length === 0) return null;
    if (this.edf) return this.edf.pick(weightOf) ?? null;
    const h = hosts[this.next % hosts.length];
    this.next = (this.next + 1) % hosts.length;
    return h;
  }
}

function weightOf(h: HostImpl): number {
  return h.weight;
}
