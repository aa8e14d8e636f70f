/**
 * Workloads (Pods and WorkloadEntries) by namespace and by label pair, so that selecting the pods of a
 * service costs the size of the smallest matching label set, not the size of the namespace: a 1,000-service,
 * 5,000-pod mesh is built in milliseconds instead of millions of label comparisons.
 */
import { matchesSelector, type Labels } from './labels.js';
import type { Workload } from './model.js';

export class WorkloadIndex<W extends Workload = Workload> {
  private readonly byKey = new Map<string, W>();
  private readonly byNamespace = new Map<string, Set<string>>();
  private readonly byLabel = new Map<string, Set<string>>();

  get(key: string): W | undefined {
    return this.byKey.get(key);
  }

  get size(): number {
    return this.byKey.size;
  }

  values(): IterableIterator<W> {
    return this.byKey.values();
  }

  set(key: string, w: W): void {
    this.delete(key);
    this.byKey.set(key, w);
    addTo(this.byNamespace, w.namespace, key);
    for (const k in w.labels) addTo(this.byLabel, labelKey(w.namespace, k, w.labels[k]!), key);
  }

  delete(key: string): void {
    const w = this.byKey.get(key);
    if (!w) return;
    this.byKey.delete(key);
    removeFrom(this.byNamespace, w.namespace, key);
    for (const k in w.labels) removeFrom(this.byLabel, labelKey(w.namespace, k, w.labels[k]!), key);
  }

  /** Workloads of `namespace` matching every pair of `selector` (all of the namespace for an empty one). */
  select(namespace: string, selector: Labels): W[] {
    let smallest: Set<string> | undefined;
    for (const k in selector) {
      const set = this.byLabel.get(labelKey(namespace, k, selector[k]!));
      if (!set) return [];
      if (!smallest || set.size < smallest.size) smallest = set;
    }
    const candidates = smallest ?? this.byNamespace.get(namespace) ?? new Set<string>();
    const out: W[] = [];
    for (const key of candidates) {
      const w = this.byKey.get(key)!;
      if (matchesSelector(w.labels, selector)) out.push(w);
    }
    return out;
  }

  inNamespace(namespace: string): W[] {
    return [...(this.byNamespace.get(namespace) ?? [])].map((k) => this.byKey.get(k)!);
  }
}

function labelKey(namespace: string, key: string, value: string): string {
  return `${namespace}\u0000${key}\u0000${value}`;
}

function addTo(map: Map<string, Set<string>>, k: string, v: string): void {
  let set = map.get(k);
  if (!set) map.set(k, (set = new Set()));
  set.add(v);
}

function removeFrom(map: Map<string, Set<string>>, k: string, v: string): void {
  const set = map.get(k);
  if (!set) return;
  set.delete(v);
  if (set.size === 0) map.delete(k);
}
