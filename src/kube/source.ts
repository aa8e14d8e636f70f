/**
 * The Kubernetes config source: one Reflector per watched resource, each turning list and watch
 * events into upserts and deletes in the same ConfigStore the file source feeds, so the registry,
 * generators and ADS server work unchanged. Objects are applied one at a time: a cluster is many
 * authors, and one invalid VirtualService must not hold back everyone else's changes (it is logged
 * and skipped, and the last good version of that object, if any, stays in force).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { formatMessage, hasErrors } from '../config/messages.js';
import type { LoadedResource, Resource } from '../config/resource.js';
import type { ConfigStore } from '../config/store.js';
import { listedBy, watchedResources, type ApiResource } from './api-resources.js';
import { Reflector, type KubeObject, type ReflectorOptions } from './reflector.js';

export const K8S_SOURCE_PREFIX = 'k8s://';

export interface KubeSourceOptions extends ReflectorOptions {
  /** Version of the Istio API groups to read (default v1). */
  istioVersion?: string;
  resources?: ApiResource[];
}

/** `k8s://<kind>/<namespace>/<name>`: where an object came from, in messages and config dumps. */
export function k8sSourceFile(kind: string, namespace: string | undefined, name: string): string {
  return `${K8S_SOURCE_PREFIX}${kind}/${namespace ?? ''}/${name}`;
}

/**
 * Drops what the API server adds that the mesh never reads, so a status-only update of a Service or
 * a managedFields change does not count as a config change. Pods keep their status: the pod IP,
 * phase and readiness live there.
 */
export function toLoadedResource(obj: KubeObject): LoadedResource {
  const { managedFields: _m, creationTimestamp: _c, generation: _g, selfLink: _s, resourceVersion: _r, ...metadata } = obj.metadata;
  const resource: Resource = { ...obj, metadata: metadata as Resource['metadata'] };
  if (obj.kind !== 'Pod') delete resource.status;
  return { resource, source: { file: k8sSourceFile(obj.kind, metadata.namespace as string | undefined, obj.metadata.name) } };
}

/** A Pod the API server has not given an address yet cannot be an endpoint (and must not get an invented one). */
function isServable(obj: KubeObject): boolean {
  if (obj.kind !== 'Pod') return true;
  const status = obj.status as { podIP?: unknown } | undefined;
  return typeof status?.podIP === 'string' && status.podIP !== '';
}

export class KubeSource {
  readonly reflectors: Reflector[];

  constructor(
    kc: KubeConfig,
    private readonly store: ConfigStore,
    private readonly options: KubeSourceOptions = {},
  ) {
    const handler = {
      replace: (r: ApiResource, items: KubeObject[]) => this.replace(r, items),
      upsert: (_r: ApiResource, obj: KubeObject) => this.upsert(obj),
      delete: (_r: ApiResource, obj: KubeObject) => this.remove(obj),
    };
    const resources = options.resources ?? watchedResources(options.istioVersion);
    this.reflectors = resources.map((r) => new Reflector(kc, r, handler, options));
  }

  /** Starts every watch; resolves when each resource has been listed once. */
  async start(): Promise<void> {
    for (const r of this.reflectors) r.start();
    await Promise.all(this.reflectors.map((r) => r.synced));
  }

  stop(): void {
    for (const r of this.reflectors) r.stop();
  }

  private upsert(obj: KubeObject): void {
    if (!isServable(obj)) return this.remove(obj);
    const loaded = toLoadedResource(obj);
    const result = this.store.apply([loaded]);
    if (!result.accepted) this.log(`${loaded.source.file} refused; its last good version stays in force:\n${result.messages.filter((m) => m.type.level === 'Error').map(formatMessage).join('\n')}`);
  }

  private remove(obj: KubeObject): void {
    this.store.delete([{ kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name }]);
  }

  /** After a (re)list: drop what vanished while we were not watching, then apply the rest. */
  private replace(resource: ApiResource, items: KubeObject[]): void {
    const servable = items.filter(isServable);
    // Objects that vanished and listed pods without an address leave the store in one change.
    const kept = new Set(servable.map((o) => k8sSourceFile(o.kind, o.metadata.namespace, o.metadata.name)));
    const gone = this.store
      .list(resource.kind)
      .filter((o) => o.source.file?.startsWith(K8S_SOURCE_PREFIX) === true && !kept.has(o.source.file) && listedBy(resource, o.resource.metadata.name))
      .map((o) => ({ kind: o.resource.kind, namespace: o.resource.metadata.namespace, name: o.resource.metadata.name }));
    if (gone.length > 0) this.store.delete(gone);
    const batch = servable.map(toLoadedResource);
    const whole = this.store.apply(batch);
    if (whole.accepted || !hasErrors(whole.messages)) return;
    for (const o of servable) this.upsert(o); // one bad object: apply the others one by one
  }

  private log(message: string): void {
    this.options.log?.(message);
  }
}
