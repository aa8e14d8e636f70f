/**
 * The service registry's state and its incremental update: Namespaces, Services, EndpointSlices, Pods, ServiceEntries,
 * WorkloadEntries and the mesh ConfigMap in; services, workloads and endpoints out, kept up to date batch by batch.
 *
 * `apply` works in three steps so that each batch costs what it changed, not the size of the mesh:
 * 1. refresh the changed workloads (pods whose own manifest or whose namespace's injection labels
 *    changed), marking every service whose selector matched them before or after;
 * 2. rebuild the changed Services/ServiceEntries, emitting service events and marking them;
 * 3. recompute the endpoints of the marked services, emitting an endpoint event per hostname whose
 *    endpoints a proxy would see differently.
 * Deletions run first and declared addresses before allocated ones, so that within a batch a manifest's
 * own `clusterIP`/`podIP` is not taken by an allocation made for another object.
 * The queries are in service-registry.ts.
 */
import type { ConfigEvent } from '../config/events.js';
import type { LoadedResource } from '../config/resource.js';
import { buildEndpoints, type EndpointsByPort } from './endpoint-builder.js';
import { buildSliceEndpoints, sliceFromResource } from './endpoint-slice.js';
import type { RegistryEvent, RegistryListener } from './events.js';
import { IpAllocator } from './ip-allocator.js';
import { clusterIpRequest, serviceFromKube } from './kube-service.js';
import { matchesSelector, stringMap } from './labels.js';
import { MeshSettingsTracker, type MeshSettings } from './mesh-settings.js';
import type { RegistryPod, RegistryService, Workload } from './model.js';
import { registryOptions, type RegistryOptions } from './options.js';
import { declaredPodIp, isTerminal, podFromResource } from './pod.js';
import { serviceFqdn } from './hostname.js';
import { recordKey, ServiceRecords, type ServiceRecord } from './service-records.js';
import { SliceIndex } from './slice-index.js';
import { servicesFromEntry } from './service-entry.js';
import { hasEndpoints, sameEndpoints, sameWorkload, serviceSignature } from './signatures.js';
import { injectionLabelsDiffer } from './sidecar-injection.js';
import { WorkloadIndex } from './workload-index.js';
import { workloadFromEntry } from './workload-entry.js';

const MAX_WARNINGS = 200;
const EMPTY_ENDPOINTS: EndpointsByPort = new Map();

interface BatchState {
  readonly events: RegistryEvent[];
  /** Services whose endpoints must be recomputed. */
  readonly dirtyRecords: Set<string>;
  /** Hostnames whose endpoints changed (removed services that had endpoints). */
  readonly changedHosts: Set<string>;
}

export class RegistryCore {
  readonly options: RegistryOptions;
  protected readonly records = new ServiceRecords();
  protected readonly pods = new WorkloadIndex<RegistryPod>();
  protected readonly entries = new WorkloadIndex<Workload>();
  protected readonly podsByIp = new Map<string, string>();
  /** Endpoint address → keys of the services it is an endpoint of (the inbound side of a workload). */
  protected readonly recordsByEndpointAddress = new Map<string, Set<string>>();
  protected readonly mesh: MeshSettingsTracker;
  private readonly namespaceLabels = new Map<string, Readonly<Record<string, string>>>();
  private readonly podSources = new Map<string, LoadedResource>();
  private readonly entrySources = new Map<string, LoadedResource>();
  private readonly serviceSources = new Map<string, LoadedResource>();
  private readonly sliceSources = new Map<string, LoadedResource>();
  private readonly slices = new SliceIndex();
  private readonly podIps: IpAllocator;
  private readonly serviceIps: IpAllocator;
  private readonly entryIps: IpAllocator;
  private readonly listeners = new Set<RegistryListener>();
  private readonly warningList: string[] = [];
  protected servicesCache: RegistryService[] | undefined;

  constructor(options: Partial<RegistryOptions> = {}) {
    this.options = registryOptions(options);
    this.podIps = new IpAllocator(this.options.podCidr);
    this.serviceIps = new IpAllocator(this.options.serviceCidr);
    this.entryIps = new IpAllocator(this.options.serviceEntryCidr);
    this.mesh = new MeshSettingsTracker({ trustDomain: this.options.trustDomain, rootNamespace: this.options.rootNamespace });
  }

  get meshSettings(): MeshSettings {
    return this.mesh.current;
  }

  /** Address conflicts and similar problems met so far (most recent last). */
  warnings(): readonly string[] {
    return this.warningList;
  }

  subscribe(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies one batch of config changes; returns (and sends to subscribers) the registry events. */
  apply(batch: readonly ConfigEvent[]): RegistryEvent[] {
    const dirtyPods = new Set<string>();
    const dirtyEntries = new Set<string>();
    const dirtySources = new Set<string>();
    const dirtySlices = new Set<string>();
    let trustDomainChanged = false;
    for (const ev of batch) {
      const r = ev.resource.resource;
      const ns = r.metadata.namespace ?? 'default';
      const key = `${ns}/${r.metadata.name}`;
      const upsert = ev.type === 'upsert';
      switch (r.kind) {
        case 'Namespace': {
          const before = this.namespaceLabels.get(r.metadata.name) ?? {};
          const after = upsert ? stringMap(r.metadata.labels) : {};
          if (upsert) this.namespaceLabels.set(r.metadata.name, after);
          else this.namespaceLabels.delete(r.metadata.name);
          if (injectionLabelsDiffer(before, after)) for (const p of this.pods.inNamespace(r.metadata.name)) dirtyPods.add(`${p.namespace}/${p.name}`);
          break;
        }
        case 'Pod':
          if (setOrDelete(this.podSources, key, ev)) dirtyPods.add(key);
          break;
        case 'WorkloadEntry':
          if (setOrDelete(this.entrySources, key, ev)) dirtyEntries.add(key);
          break;
        case 'EndpointSlice':
          if (setOrDelete(this.sliceSources, key, ev)) dirtySlices.add(key);
          break;
        case 'Service':
        case 'ServiceEntry':
          if (setOrDelete(this.serviceSources, `${r.kind}/${key}`, ev)) dirtySources.add(`${r.kind}/${key}`);
          break;
        case 'ConfigMap':
          if (MeshSettingsTracker.isCandidate(ev)) {
            const before = this.mesh.current.trustDomain;
            this.mesh.update(ev);
            trustDomainChanged ||= before !== this.mesh.current.trustDomain;
          }
          break;
      }
    }
    if (trustDomainChanged) {
      // Identities are spiffe://<trustDomain>/…: every workload and inline endpoint changes.
      for (const k of this.podSources.keys()) dirtyPods.add(k);
      for (const k of this.entrySources.keys()) dirtyEntries.add(k);
      for (const k of this.serviceSources.keys()) if (k.startsWith('ServiceEntry/')) dirtySources.add(k);
    }
    const state: BatchState = { events: [], dirtyRecords: new Set(), changedHosts: new Set() };
    this.refreshPods(dirtyPods, state);
    this.refreshEntries(dirtyEntries, state);
    for (const key of dirtySlices) {
      const loaded = this.sliceSources.get(key);
      for (const svc of this.slices.set(key, loaded ? sliceFromResource(loaded) : undefined)) this.markSliceService(svc, state);
    }
    this.rebuildServices(dirtySources, state);
    for (const key of state.dirtyRecords) {
      const rec = this.records.get(key);
      if (!rec) continue;
      const next = this.computeEndpoints(rec);
      if (!sameEndpoints(rec.endpoints, next)) state.changedHosts.add(rec.service.hostname);
      this.indexEndpointAddresses(key, rec.endpoints, next);
      rec.endpoints = next;
    }
    const events = state.events;
    for (const hostname of [...state.changedHosts].sort()) events.push({ type: 'endpoints-changed', hostname });
    if (dirtySources.size > 0) this.servicesCache = undefined;
    if (events.length > 0) for (const l of this.listeners) l(events);
    return events;
  }

  private computeEndpoints(rec: ServiceRecord): EndpointsByPort {
    const opts = { domainSuffix: this.options.domainSuffix, publishNotReadyAddresses: rec.publishNotReadyAddresses };
    const { service } = rec;
    if (service.source === 'kubernetes' && !service.selector && rec.staticWorkloads.length === 0) {
      return buildSliceEndpoints(service, this.slices.ofService(service.namespace, service.name), (k) => this.pods.get(k), opts);
    }
    const selected = service.selector ? this.selectWorkloads(service.namespace, service.selector) : [];
    return buildEndpoints(service, [...rec.staticWorkloads, ...selected], opts);
  }

  /** Marks the Kubernetes service `namespace/name` (if there is one) for an endpoint recompute from its slices. */
  private markSliceService(nsName: string, state: BatchState): void {
    const [namespace, name] = nsName.split('/') as [string, string];
    const key = recordKey({ source: 'kubernetes', namespace, hostname: serviceFqdn(name, namespace, this.options.domainSuffix) });
    if (this.records.get(key)) state.dirtyRecords.add(key);
  }

  protected selectWorkloads(namespace: string, selector: Readonly<Record<string, string>>): Workload[] {
    const pods: Workload[] = this.pods.select(namespace, selector).filter((p) => !isTerminal(p));
    return this.entries.size === 0 ? pods : pods.concat(this.entries.select(namespace, selector));
  }

  /** Keeps `recordsByEndpointAddress` in step when a record's endpoints go from `before` to `after`. */
  private indexEndpointAddresses(key: string, before: EndpointsByPort, after: EndpointsByPort): void {
    for (const list of before.values()) for (const e of list) this.recordsByEndpointAddress.get(e.address)?.delete(key);
    for (const list of after.values()) {
      for (const e of list) {
        let set = this.recordsByEndpointAddress.get(e.address);
        if (!set) this.recordsByEndpointAddress.set(e.address, (set = new Set()));
        set.add(key);
      }
    }
    for (const list of before.values()) {
      for (const e of list) if (this.recordsByEndpointAddress.get(e.address)?.size === 0) this.recordsByEndpointAddress.delete(e.address);
    }
  }

  private warn(message: string): void {
    this.warningList.push(message);
    if (this.warningList.length > MAX_WARNINGS) this.warningList.shift();
  }

  /** Marks every service whose selector picks `w`. */
  private markSelecting(w: Workload, state: BatchState): void {
    for (const key of this.records.selectingIn(w.namespace)) {
      if (state.dirtyRecords.has(key)) continue;
      if (matchesSelector(w.labels, this.records.get(key)!.service.selector!)) state.dirtyRecords.add(key);
    }
  }

  private refreshPods(keys: ReadonlySet<string>, state: BatchState): void {
    const ordered = orderByAddressing(keys, (k) => {
      const loaded = this.podSources.get(k);
      return loaded ? (declaredPodIp(loaded) ? 1 : 2) : 0;
    });
    for (const key of ordered) {
      const old = this.pods.get(key);
      const loaded = this.podSources.get(key);
      let next: RegistryPod | undefined;
      if (loaded) {
        const declared = declaredPodIp(loaded);
        let ip: string;
        if (declared && this.podIps.reserve(key, declared)) ip = declared;
        else {
          if (declared) this.warn(`pod ${key}: status.podIP ${declared} is already used by pod ${this.podIps.ownerOf(declared)}; using an allocated address`);
          ip = this.podIps.allocate(key);
        }
        const ns = loaded.resource.metadata.namespace ?? 'default';
        next = podFromResource(loaded, ip, ip !== declared, {
          trustDomain: this.mesh.current.trustDomain,
          namespaceLabels: this.namespaceLabels.get(ns) ?? {},
          injectByDefault: this.options.injectByDefault,
          podsReadyByDefault: this.options.podsReadyByDefault,
        });
      } else this.podIps.release(key);
      if (old && next && sameWorkload(old, next)) {
        this.pods.set(key, next);
        continue;
      }
      if (old) {
        this.markSelecting(old, state);
        if (this.podsByIp.get(old.address) === key) this.podsByIp.delete(old.address);
      }
      for (const svc of this.slices.servicesOfPod(key)) this.markSliceService(svc, state);
      if (next) {
        this.pods.set(key, next);
        this.podsByIp.set(next.address, key);
        this.markSelecting(next, state);
      } else this.pods.delete(key);
    }
  }

  private refreshEntries(keys: ReadonlySet<string>, state: BatchState): void {
    for (const key of keys) {
      const old = this.entries.get(key);
      const loaded = this.entrySources.get(key);
      const next = loaded
        ? workloadFromEntry(loaded.resource.spec, {
            kind: 'WorkloadEntry',
            name: loaded.resource.metadata.name,
            namespace: loaded.resource.metadata.namespace ?? 'default',
            trustDomain: this.mesh.current.trustDomain,
            metadataLabels: stringMap(loaded.resource.metadata.labels),
            origin: loaded.source,
          })
        : undefined;
      if (old && next && sameWorkload(old, next)) {
        this.entries.set(key, next);
        continue;
      }
      if (old) this.markSelecting(old, state);
      if (next) {
        this.entries.set(key, next);
        this.markSelecting(next, state);
      } else this.entries.delete(key);
    }
  }

  private rebuildServices(sourceKeys: ReadonlySet<string>, state: BatchState): void {
    const ordered = orderByAddressing(sourceKeys, (k) => {
      const loaded = this.serviceSources.get(k);
      return loaded ? (k.startsWith('Service/') && clusterIpRequest(loaded).kind === 'declared' ? 1 : 2) : 0;
    });
    for (const sourceKey of ordered) {
      const loaded = this.serviceSources.get(sourceKey);
      const built = loaded ? this.buildFromSource(sourceKey, loaded) : [];
      if (!loaded) this.serviceIps.release(sourceKey);
      const keys: string[] = [];
      for (const b of built) {
        const key = recordKey(b.service);
        const existing = this.records.get(key);
        if (existing && existing.sourceKey !== sourceKey) {
          this.warn(`${sourceKey}: host ${b.service.hostname} is already defined by ${existing.sourceKey} in namespace ${b.service.namespace}; ignored`);
          continue;
        }
        keys.push(key);
        // Static endpoints and publishNotReadyAddresses only shape endpoints: they are compared there,
        // so that an endpoint-only edit of a ServiceEntry yields endpoint events only.
        const signature = serviceSignature(b.service);
        state.dirtyRecords.add(key);
        if (!existing) {
          this.records.create({ key, sourceKey, ...b, signature });
          state.events.push({ type: 'service-added', hostname: b.service.hostname, namespace: b.service.namespace, service: b.service });
          continue;
        }
        const previous = existing.service;
        this.records.replace(existing, b.service);
        existing.staticWorkloads = b.staticWorkloads;
        existing.publishNotReadyAddresses = b.publishNotReadyAddresses;
        if (existing.signature === signature) continue;
        existing.signature = signature;
        state.events.push({ type: 'service-updated', hostname: b.service.hostname, namespace: b.service.namespace, service: b.service, previous });
      }
      for (const key of this.records.keysOfSource(sourceKey)) {
        if (keys.includes(key)) continue;
        const rec = this.records.remove(key)!;
        if (sourceKey.startsWith('ServiceEntry/')) this.entryIps.release(`${rec.service.namespace}/${rec.service.hostname}`);
        state.events.push({ type: 'service-removed', hostname: rec.service.hostname, namespace: rec.service.namespace, previous: rec.service });
        if (hasEndpoints(rec.endpoints)) state.changedHosts.add(rec.service.hostname);
        this.indexEndpointAddresses(rec.key, rec.endpoints, EMPTY_ENDPOINTS);
      }
      this.records.setKeysOfSource(sourceKey, keys);
    }
  }

  private buildFromSource(
    sourceKey: string,
    loaded: LoadedResource,
  ): Array<{ service: RegistryService; staticWorkloads: readonly Workload[]; publishNotReadyAddresses: boolean }> {
    if (sourceKey.startsWith('ServiceEntry/')) {
      return servicesFromEntry(loaded, {
        defaultExportTo: this.options.defaultServiceExportTo,
        trustDomain: this.mesh.current.trustDomain,
        autoAddress: (ns, host) => (this.options.autoAllocateServiceEntryAddresses ? this.entryIps.allocate(`${ns}/${host}`) : undefined),
      }).map((r) => ({ ...r, publishNotReadyAddresses: false }));
    }
    const request = clusterIpRequest(loaded);
    let vip: string | undefined;
    if (request.kind === 'none') this.serviceIps.release(sourceKey);
    else if (request.kind === 'declared') {
      if (this.serviceIps.reserve(sourceKey, request.ip)) vip = request.ip;
      else {
        this.warn(`${sourceKey}: clusterIP ${request.ip} is already used by ${this.serviceIps.ownerOf(request.ip)}; using an allocated address`);
        vip = this.serviceIps.allocate(sourceKey);
      }
    } else vip = this.serviceIps.allocate(sourceKey);
    return [serviceFromKube(loaded, vip, { domainSuffix: this.options.domainSuffix, defaultExportTo: this.options.defaultServiceExportTo })];
  }
}

/**
 * Records the event; false when it cannot change anything: the very same loaded object again (the config
 * store hands out unchanged objects as they were), or a delete of something unknown.
 */
function setOrDelete(map: Map<string, LoadedResource>, key: string, ev: ConfigEvent): boolean {
  if (ev.type === 'delete') return map.delete(key);
  if (map.get(key) === ev.resource) return false;
  map.set(key, ev.resource);
  return true;
}

/** Deletions (rank 0) first, then objects with a declared address (1), then the rest (2); stable within a rank. */
function orderByAddressing(keys: ReadonlySet<string>, rank: (key: string) => number): string[] {
  const buckets: string[][] = [[], [], []];
  for (const k of keys) buckets[rank(k)]!.push(k);
  return buckets.flat();
}
