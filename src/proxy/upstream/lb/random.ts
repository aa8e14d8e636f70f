/** RANDOM: uniform over the usable hosts, or in proportion to their weights when those differ. */
import type { LbContext } from '../api.js';
import type { HostImpl } from '../host.js';
import { type HostPicker, allWeightsEqual } from './picker.js';

export class RandomPicker implements HostPicker {
  private readonly cumulative?: Float64Array;

  constructor(private readonly hosts: readonly HostImpl[]) {
    if (!allWeightsEqual(hosts.map((h) => h.weight))) {
      this.cumulative = new Float64Array(hosts.length);
      let sum = 0;
      hosts.forEach((h, i) => (this.cumulative![i] = sum += h.weight));
    }
  }

  pick(_ctx: LbContext | undefined, _attempt: number): HostImpl | null {
    const n = this.hosts.length;
    if (n === 0) return null;
    const cum = this.cumulative;
    if (!cum) return this.hosts[(Math.random() * n) | 0];
    const r = Math.random() * cum[n - 1];
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    return this.hosts[lo];
  }
}
