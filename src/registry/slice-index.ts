/**
 * The EndpointSlices the registry holds, indexed the two ways a change reaches a service's endpoints:
 * by the Service a slice belongs to (a slice changed) and by the Pods its endpoints name (a pod's labels
 * or identity changed, which the endpoint carries).
 */
import type { RegistrySlice } from './endpoint-slice.js';

export class SliceIndex {
  private readonly slices = new Map<string, RegistrySlice>();
  private readonly byService = new Map<string, Set<string>>();
  private readonly byPod = new Map<string, Set<string>>();

  /**
   * Sets (or with undefined removes) the slice `namespace/name`; returns the `namespace/service` names
   * whose endpoints may have changed (the slice's service before and after).
   */
  set(key: string, next: RegistrySlice | undefined): string[] {
    const old = this.slices.get(key);
    const touched: string[] = [];
    if (old) {
      if (old.serviceName) touched.push(removeFrom(this.byService, `${old.namespace}/${old.serviceName}`, key));
      for (const pod of podKeys(old)) removeFrom(this.byPod, pod, key);
      this.slices.delete(key);
    }
    if (next) {
      this.slices.set(key, next);
      if (next.serviceName) touched.push(addTo(this.byService, `${next.namespace}/${next.serviceName}`, key));
      for (const pod of podKeys(next)) addTo(this.byPod, pod, key);
    }
    return [...new Set(touched)];
  }

  /** The slices of Service `name` in `namespace`, by slice name so any arrival order gives the same endpoints. */
  ofService(namespace: string, name: string): RegistrySlice[] {
    return [...(this.byService.get(`${namespace}/${name}`) ?? [])].sort().map((k) => this.slices.get(k)!);
  }

  /** `namespace/service` names whose slices name the pod `podKey`. */
  servicesOfPod(podKey: string): string[] {
    const out = new Set<string>();
    for (const k of this.byPod.get(podKey) ?? []) {
      const s = this.slices.get(k)!;
      if (s.serviceName) out.add(`${s.namespace}/${s.serviceName}`);
    }
    return [...out];
  }
}

function podKeys(slice: RegistrySlice): Set<string> {
  const out = new Set<string>();
  for (const e of slice.endpoints) if (e.podKey) out.add(e.podKey);
  return out;
}

function addTo(map: Map<string, Set<string>>, k: string, v: string): string {
  let set = map.get(k);
  if (!set) map.set(k, (set = new Set()));
  set.add(v);
  return k;
}

function removeFrom(map: Map<string, Set<string>>, k: string, v: string): string {
  const set = map.get(k);
  if (set) {
    set.delete(v);
    if (set.size === 0) map.delete(k);
  }
  return k;
}
