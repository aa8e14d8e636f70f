/**
 * MAGLEV: a lookup table (prime size, 65537 by default) filled by each host's own permutation
 * (offset and skip from xxHash64 of its address with seeds 0 and 1), hosts taking turns in
 * proportion to their weights. Lookup is one array index; adding a host moves about 1/N of keys.
 */
import type { LbContext } from '../api.js';
import type { HostImpl } from '../host.js';
import { xxHash64 } from '../hash.js';
import type { HostPicker } from './picker.js';

export class MaglevPicker implements HostPicker {
  private readonly table: HostImpl[];

  constructor(hosts: readonly HostImpl[], weights: readonly number[], readonly tableSize: number) {
    this.table = [];
    if (hosts.length === 0) return;
    const m = tableSize;
    const maxWeight = Math.max(...weights);
    const state = hosts.map((host, i) => ({
      host,
      offset: xxHash64(host.addressString, 0) % m,
      skip: (xxHash64(host.addressString, 1) % (m - 1)) + 1,
      next: 0,
      weight: weights[i] / maxWeight,
      target: 0,
    }));
    const table = new Array<HostImpl | undefined>(m);
    let filled = 0;
    for (let iteration = 1; filled < m; iteration++) {
      for (const s of state) {
        // A host places an entry each time its accumulated weight reaches the next whole entry.
        if (iteration * s.weight < s.target + 1) continue;
        s.target++;
        let slot = (s.offset + s.skip * s.next) % m;
        while (table[slot] !== undefined) {
          s.next++;
          slot = (s.offset + s.skip * s.next) % m;
        }
        table[slot] = s.host;
        s.next++;
        if (++filled === m) break;
      }
    }
    this.table = table as HostImpl[];
  }

  pick(ctx: LbContext | undefined, attempt: number): HostImpl | null {
    const m = this.table.length;
    if (m === 0) return null;
    let h = ctx?.hash !== undefined ? ctx.hash >>> 0 : (Math.random() * 4294967296) >>> 0;
    // A retry re-hashes with the attempt number so it lands on an unrelated slot, deterministically.
    if (attempt > 0) h = (h + Math.imul(attempt, 2654435761)) >>> 0;
    return this.table[h % m];
  }
}
