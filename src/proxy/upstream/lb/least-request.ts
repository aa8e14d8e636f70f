/**
 * LEAST_REQUEST (Istio's default), as Envoy does it: with equal weights, "power of N choices" —
 * sample choice_count hosts at random and take the one with the fewest active requests; with
 * unequal weights, EDF where a host's weight is divided by (active requests + 1)^bias each time it
 * is rescheduled, so busy hosts come round less often.
 */
import type { LbContext } from '../api.js';
import type { HostImpl } from '../host.js';
import { EdfScheduler } from './edf.js';
import { type HostPicker, allWeightsEqual } from './picker.js';

export class LeastRequestPicker implements HostPicker {
  private readonly edf?: EdfScheduler<HostImpl>;
  private readonly weightOf?: (h: HostImpl) => number;

  constructor(
    private readonly hosts: readonly HostImpl[],
    private readonly choiceCount: number,
    bias: number,
  ) {
    if (!allWeightsEqual(hosts.map((h) => h.weight))) {
      this.weightOf = bias === 1 ? (h) => h.weight / (h.activeRequests + 1) : bias === 0 ? (h) => h.weight : (h) => h.weight / Math.pow(h.activeRequests + 1, bias);
      this.edf = new EdfScheduler<HostImpl>();
      for (const h of hosts) this.edf.add(h, this.weightOf(h));
    }
  }

  pick(_ctx: LbContext | undefined, _attempt: number): HostImpl | null {
    const hosts = this.hosts;
    const n = hosts.length;
    if (n === 0) return null;
    if (this.edf) return this.edf.pick(this.weightOf!) ?? null;
    if (n === 1) return hosts[0];
    let best = hosts[(Math.random() * n) | 0];
    for (let i = 1; i < this.choiceCount; i++) {
      const candidate = hosts[(Math.random() * n) | 0];
      if (candidate.activeRequests < best.activeRequests) best = candidate;
    }
    return best;
  }
}
