/**
 * RING_HASH (Ketama-style consistent hashing, as Envoy builds it): each host gets ring entries in
 * proportion to its weight, hashed with xxHash64 of "<address:port>_<n>"; a request's hash picks the
 * first entry at or after it. Adding a host only moves the keys that land on its new entries.
 */
import type { LbContext } from '../api.js';
import type { HostImpl } from '../host.js';
import { xxHash64Hi } from '../hash.js';
import type { HostPicker } from './picker.js';

export class RingHashPicker implements HostPicker {
  private readonly hashes: Float64Array;
  private readonly owners: HostImpl[];

  constructor(hosts: readonly HostImpl[], weights: readonly number[], minRingSize: number, maxRingSize: number) {
    const entries: { hash: number; host: HostImpl }[] = [];
    if (hosts.length > 0) {
      const total = weights.reduce((a, b) => a + b, 0);
      const normalized = weights.map((w) => w / total);
      const minNormalized = Math.min(...normalized);
      // Enough entries that the lightest host gets its share of min_ring_size, capped at the maximum.
      const scale = Math.min(Math.ceil(minNormalized * minRingSize) / minNormalized, maxRingSize);
      let current = 0;
      let target = 0;
      hosts.forEach((host, i) => {
        target += scale * normalized[i];
        let n = 0;
        while (current < target) {
          entries.push({ hash: xxHash64Hi(`${host.addressString}_${n}`), host });
          n++;
          current++;
        }
      });
      entries.sort((a, b) => a.hash - b.hash);
    }
    this.hashes = Float64Array.from(entries, (e) => e.hash);
    this.owners = entries.map((e) => e.host);
  }

  get size(): number {
    return this.owners.length;
  }

  pick(ctx: LbContext | undefined, attempt: number): HostImpl | null {
    const n = this.owners.length;
    if (n === 0) return null;
    // 32-bit positions; a wider hash is reduced modulo 2^32.
    const h = ctx?.hash !== undefined ? ctx.hash >>> 0 : (Math.random() * 4294967296) >>> 0;
    const hashes = this.hashes;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    let index = lo === n ? 0 : lo;
    let host = this.owners[index];
    // On a retry, walk on to the next distinct host(s) so the retry lands elsewhere but stays stable.
    for (let a = 0; a < attempt; a++) {
      const previous = host;
      for (let step = 0; step < n && host === previous; step++) {
        index = index + 1 === n ? 0 : index + 1;
        host = this.owners[index];
      }
    }
    return host;
  }
}
