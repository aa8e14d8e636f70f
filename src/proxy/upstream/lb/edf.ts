/**
 * Earliest-deadline-first scheduling, Envoy's way of doing smooth weighted round robin: each entry
 * is due again 1/weight after it was picked, so picks interleave in proportion to weight instead of
 * bursting. A binary heap keeps a pick O(log n) for clusters with thousands of hosts.
 */
interface Entry<T> {
  item: T;
  deadline: number;
  /** Insertion order breaks ties, so equal weights rotate in a stable order. */
  seq: number;
}

export class EdfScheduler<T> {
  private heap: Entry<T>[] = [];
  private now = 0;
  private seq = 0;

  add(item: T, weight: number): void {
    this.push({ item, deadline: this.now + 1 / weight, seq: this.seq++ });
  }

  get size(): number {
    return this.heap.length;
  }

  /** Removes and returns the entry due first; the caller re-adds it with its (possibly new) weight. */
  pickAndRemove(): T | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.down(0);
    }
    this.now = top.deadline;
    return top.item;
  }

  /** The entry due first, left in place with its next deadline. */
  pick(weightOf: (item: T) => number): T | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    this.now = top.deadline;
    top.deadline = this.now + 1 / weightOf(top.item);
    top.seq = this.seq++;
    this.down(0);
    return top.item;
  }

  private less(a: Entry<T>, b: Entry<T>): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private push(e: Entry<T>): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(h[l], h[m])) m = l;
      if (r < n && this.less(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
