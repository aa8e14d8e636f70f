/**
 * The registry's services, each with its computed endpoints, indexed the ways the registry is asked:
 * by (source, namespace, hostname) — the key —, by hostname, by defining object, by VIP, and (for services
 * with a selector) by namespace, which is how a changed pod finds the services that may select it.
 */
import type { EndpointsByPort } from './endpoint-builder.js';
import type { RegistryService, Workload } from './model.js';

export interface ServiceRecord {
  /** `source:namespace/hostname` (see recordKey). */
  readonly key: string;
  /** `Kind/namespace/name` of the Service or ServiceEntry defining it. */
  readonly sourceKey: string;
  /** Creation order: among services sharing a hostname, the older one wins (as in Istio). */
  readonly seq: number;
  service: RegistryService;
  staticWorkloads: readonly Workload[];
  publishNotReadyAddresses: boolean;
  signature: string;
  endpoints: EndpointsByPort;
}

/**
 * Kubernetes services and ServiceEntries are separate registries in Istio: a ServiceEntry naming a
 * Kubernetes service's host in the same namespace sits beside it (and decorates it), so the source is
 * part of the key.
 */
export function recordKey(service: Pick<RegistryService, 'source' | 'namespace' | 'hostname'>): string {
  return `${service.source}:${service.namespace}/${service.hostname}`;
}

export class ServiceRecords {
  private readonly byKey = new Map<string, ServiceRecord>();
  private readonly byHost = new Map<string, Set<string>>();
  private readonly bySource = new Map<string, string[]>();
  private readonly byAddress = new Map<string, Set<string>>();
  private readonly selectingByNamespace = new Map<string, Set<string>>();
  private nextSeq = 0;

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): ServiceRecord | undefined {
    return this.byKey.get(key);
  }

  values(): IterableIterator<ServiceRecord> {
    return this.byKey.values();
  }

  keysOfSource(sourceKey: string): readonly string[] {
    return this.bySource.get(sourceKey) ?? [];
  }

  setKeysOfSource(sourceKey: string, keys: string[]): void {
    if (keys.length === 0) this.bySource.delete(sourceKey);
    else this.bySource.set(sourceKey, keys);
  }

  named(hostname: string): ServiceRecord[] {
    return [...(this.byHost.get(hostname) ?? [])].map((k) => this.byKey.get(k)!);
  }

  atAddress(address: string): ServiceRecord[] {
    return [...(this.byAddress.get(address) ?? [])].map((k) => this.byKey.get(k)!);
  }

  /** Keys of services in `namespace` that select workloads. */
  selectingIn(namespace: string): ReadonlySet<string> {
    return this.selectingByNamespace.get(namespace) ?? EMPTY;
  }

  create(fields: Omit<ServiceRecord, 'seq' | 'endpoints'>): ServiceRecord {
    const rec: ServiceRecord = { ...fields, seq: this.nextSeq++, endpoints: new Map() };
    this.byKey.set(rec.key, rec);
    this.index(rec);
    return rec;
  }

  /** Replaces the service of an existing record, re-indexing what may have changed. */
  replace(rec: ServiceRecord, service: RegistryService): void {
    this.unindex(rec);
    rec.service = service;
    this.index(rec);
  }

  remove(key: string): ServiceRecord | undefined {
    const rec = this.byKey.get(key);
    if (!rec) return undefined;
    this.unindex(rec);
    this.byKey.delete(key);
    return rec;
  }

  private index(rec: ServiceRecord): void {
    addTo(this.byHost, rec.service.hostname, rec.key);
    for (const a of rec.service.addresses) addTo(this.byAddress, a, rec.key);
    if (rec.service.selector) addTo(this.selectingByNamespace, rec.service.namespace, rec.key);
  }

  private unindex(rec: ServiceRecord): void {
    removeFrom(this.byHost, rec.service.hostname, rec.key);
    for (const a of rec.service.addresses) removeFrom(this.byAddress, a, rec.key);
    removeFrom(this.selectingByNamespace, rec.service.namespace, rec.key);
  }
}

const EMPTY: ReadonlySet<string> = new Set();

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
