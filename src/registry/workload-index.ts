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
  /** namespace → label key → label value → workload keys (nested, so no key strings are built per lookup). */
  private readonly byLabel = new Map<string, Map<string, Map<string, Set<string>>>>();

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
    let keys = this.byLabel.get(w.namespace);
    if (!keys) this.byLabel.set(w.namespace, (keys = new Map()));
    for (const k in w.labels) {
      let values = keys.get(k);
      if (!values) keys.set(k, (values = new Map()));
      addTo(values, w.labels[k]!, key);
    }
  }

  delete(key: string): void {
    const w = this.byKey.get(key);
    if (!w) return;
    this.byKey.delete(key);
    removeFrom(this.byNamespace, w.namespace, key);
    const keys = this.byLabel.get(w.namespace)!;
    for (const k in w.labels) {
      const values = keys.get(k)!;
      removeFrom(values, w.labels[k]!, key);
      if (values.size === 0) keys.delete(k);
    }
    if (keys.size === 0) this.byLabel.delete(w.namespace);
  }

  /** Workloads of `namespace` matching every pair of `selector` (all of the namespace for an empty one). */
  select(namespace: string, selector: Labels): W[] {
    let smallest: Set<string> | undefined;
    const keys = this.byLabel.get(namespace);
    for (const k in selector) {
      const set = keys?.get(k)?.get(selector[k]!);
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
