/**
 * The one shape every loaded object has, whatever its kind: the Kubernetes envelope plus where
 * it came from. Kind-specific specs are typed in the files that use them.
 */
import type { SourceLocation } from '../common/errors.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid?: string; controller?: boolean }>;
}

/** Where an object (or one of its fields) was read from. */
export interface ResourceSource extends SourceLocation {
  /** Index of the document within a multi-document file (0-based). */
  document?: number;
  /** Line of each field path inside the document, e.g. `spec.hosts[0]` → 12. */
  fieldLines?: ReadonlyMap<string, number>;
}

export interface Resource<Spec = Record<string, unknown>> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  /** Other top-level fields (`data`, `stringData`, `type`, …) as read. */
  [field: string]: unknown;
}

/** A resource together with its origin; what the config store holds. */
export interface LoadedResource<Spec = Record<string, unknown>> {
  readonly resource: Resource<Spec>;
  readonly source: ResourceSource;
}

/** `group/version` split, with the core group as ''. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Stable identity of an object within the store: `Kind/namespace/name`. */
export function resourceKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}
