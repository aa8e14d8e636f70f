/**
 * Keeps the registry in step with the config store. The store holds what users wrote (Deployments,
 * StatefulSets); the registry wants Pods. After each accepted change the workloads are expanded again
 * and only the Pods that appeared, changed or went away are passed on, so an edit to one Deployment
 * costs what it changed and the registry keeps every other pod's address.
 */
import type { ConfigEvent } from '../config/events.js';
import { resourceKey, type LoadedResource } from '../config/resource.js';
import type { ConfigStore } from '../config/store.js';
import { expandWorkloads } from '../config/workloads.js';
import type { RegistryEvent } from '../registry/events.js';
import type { ServiceRegistry } from '../registry/service-registry.js';

const EXPANDED_KINDS = new Set(['Deployment', 'StatefulSet']);

function key(r: LoadedResource): string {
  return resourceKey(r.resource.kind, r.resource.metadata.namespace, r.resource.metadata.name);
}

export class WorkloadFeed {
  private pods = new Map<string, { resource: LoadedResource; fingerprint: string }>();

  constructor(
    private readonly store: ConfigStore,
    private readonly registry: ServiceRegistry,
  ) {}

  /** The Pod resource (as written, or expanded from its Deployment/StatefulSet) of `namespace/name`. */
  podResource(namespace: string, name: string): LoadedResource | undefined {
    return this.pods.get(resourceKey('Pod', namespace, name))?.resource;
  }

  /** Turns one store change into registry changes; returns what the registry reported. */
  apply(events: readonly ConfigEvent[]): RegistryEvent[] {
    const direct = events.filter((e) => e.resource.resource.kind !== 'Pod' && !EXPANDED_KINDS.has(e.resource.resource.kind));
    // Pods come from Pod and workload objects only: any other change (a VirtualService) leaves them as they are.
    const podEvents = events.some((e) => e.resource.resource.kind === 'Pod' || EXPANDED_KINDS.has(e.resource.resource.kind)) ? this.podDiff() : [];
    const out: RegistryEvent[] = [];
    const unsubscribe = this.registry.subscribe((evs) => out.push(...evs));
    try {
      // Services and namespaces before pods, so endpoints resolve against the new services.
      if (direct.length) this.registry.apply(direct);
      if (podEvents.length) this.registry.apply(podEvents);
    } finally {
      unsubscribe();
    }
    return out;
  }

  /** The pods of each workload object, kept while the store holds that same object (it is replaced on change). */
  private expanded = new WeakMap<LoadedResource, Array<[string, { resource: LoadedResource; fingerprint: string }]>>();

  private podsOf(workload: LoadedResource): Array<[string, { resource: LoadedResource; fingerprint: string }]> {
    let pods = this.expanded.get(workload);
    if (!pods) {
      pods = expandWorkloads([workload])
        .filter((r) => r.resource.kind === 'Pod')
        .map((r) => [key(r), { resource: r, fingerprint: JSON.stringify(r.resource) }]);
      this.expanded.set(workload, pods);
    }
    return pods;
  }

  private podDiff(): ConfigEvent[] {
    const next = new Map<string, { resource: LoadedResource; fingerprint: string }>();
    for (const w of this.store.list()) {
      const kind = w.resource.kind;
      if (kind !== 'Pod' && !EXPANDED_KINDS.has(kind)) continue;
      for (const [k, v] of this.podsOf(w)) next.set(k, v);
    }
    const events: ConfigEvent[] = [];
    for (const [k, v] of next) {
      const before = this.pods.get(k);
      if (!before || (before !== v && before.fingerprint !== v.fingerprint)) events.push({ type: 'upsert', resource: v.resource });
    }
    for (const [k, v] of this.pods) if (!next.has(k)) events.push({ type: 'delete', resource: v.resource });
    this.pods = next;
    return events;
  }
}
