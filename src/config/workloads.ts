/**
 * Turns Deployments and StatefulSets into the Pods Kubernetes would run for them, so the registry,
 * the analyzers and the local mesh all see workloads the same way whether a manifest lists Pods or
 * controllers. Names follow Kubernetes' scheme but are derived from the content instead of random,
 * so the same manifests always give the same pod names (stable across reloads and runs):
 * - Deployment: `<name>-<pod-template-hash>-<5 chars>`, the hash taken over the pod template;
 * - StatefulSet: `<name>-0` … `<name>-N-1`, with `hostname` and `subdomain` (= `serviceName`) set, which
 *   gives each pod its stable DNS name `<name>-i.<serviceName>.<ns>.svc.<domain>`.
 * Malformed controllers yield no pods here; schema validation reports them.
 */
import { isPlainObject } from './documents.js';
import type { LoadedResource, ObjectMeta, Resource, ResourceSource } from './resource.js';

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
export const STATEFULSET_POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';
export const DEFAULT_SERVICE_ACCOUNT = 'default';

/** Kubernetes' `SafeEncodeString` alphabet: no vowels (no accidental words) and no look-alike characters. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const TEMPLATE_HASH_LENGTH = 10;
const POD_SUFFIX_LENGTH = 5;

export function expandWorkloads(resources: readonly LoadedResource[]): LoadedResource[] {
  const pods: LoadedResource[] = [];
  for (const loaded of resources) {
    const r = loaded.resource;
    if (r.kind === 'Pod' && r.apiVersion === 'v1') pods.push(loaded);
    else if (r.kind === 'Deployment' && r.apiVersion === 'apps/v1') pods.push(...deploymentPods(loaded));
    else if (r.kind === 'StatefulSet' && r.apiVersion === 'apps/v1') pods.push(...statefulSetPods(loaded));
  }
  return pods;
}

interface Template {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: Record<string, unknown>;
}

/** The pod template, or undefined when there is none usable. */
function templateOf(r: Resource): Template | undefined {
  const spec = r.spec;
  if (!isPlainObject(spec) || !isPlainObject(spec.template)) return undefined;
  const t = spec.template;
  const meta = isPlainObject(t.metadata) ? t.metadata : {};
  return {
    metadata: { labels: stringMap(meta.labels), annotations: stringMap(meta.annotations) },
    spec: isPlainObject(t.spec) ? t.spec : {},
  };
}

/** `spec.replicas`, defaulting to 1 as the API server does; undefined when it is not a count. */
export function replicasOf(r: Resource): number | undefined {
  const value = isPlainObject(r.spec) ? r.spec.replicas : undefined;
  if (value === undefined || value === null) return 1;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

function deploymentPods(loaded: LoadedResource): LoadedResource[] {
  const r = loaded.resource;
  const template = templateOf(r);
  const replicas = replicasOf(r);
  if (!template || replicas === undefined) return [];
  const hash = templateHash(template);
  const replicaSet = `${r.metadata.name}-${hash}`;
  const source = templateSource(loaded.source);
  const used = new Set<string>();
  const pods: LoadedResource[] = [];
  for (let i = 0; i < replicas; i++) {
    let name: string;
    let attempt = 0;
    do name = `${replicaSet}-${safeEncode(fnv1a32(`${replicaSet}/${i}/${attempt++}`), POD_SUFFIX_LENGTH)}`;
    while (used.has(name));
    used.add(name);
    pods.push({
      resource: podResource(r, template, name, { [POD_TEMPLATE_HASH_LABEL]: hash }, { kind: 'ReplicaSet', name: replicaSet }, {}),
      source,
    });
  }
  return pods;
}

function statefulSetPods(loaded: LoadedResource): LoadedResource[] {
  const r = loaded.resource;
  const template = templateOf(r);
  const replicas = replicasOf(r);
  if (!template || replicas === undefined) return [];
  const spec = r.spec as Record<string, unknown>;
  const serviceName = typeof spec.serviceName === 'string' && spec.serviceName !== '' ? spec.serviceName : undefined;
  const revision = `${r.metadata.name}-${templateHash(template)}`;
  const source = templateSource(loaded.source);
  const pods: LoadedResource[] = [];
  for (let i = 0; i < replicas; i++) {
    const name = `${r.metadata.name}-${i}`;
    const labels = { [CONTROLLER_REVISION_HASH_LABEL]: revision, [STATEFULSET_POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(i) };
    const identity = { hostname: name, ...(serviceName ? { subdomain: serviceName } : {}) };
    pods.push({ resource: podResource(r, template, name, labels, { kind: 'StatefulSet', name: r.metadata.name }, identity), source });
  }
  return pods;
}

function podResource(
  owner: Resource,
  template: Template,
  name: string,
  extraLabels: Record<string, string>,
  controller: { kind: string; name: string },
  specOverrides: Record<string, unknown>,
): Resource {
  const metadata: ObjectMeta = {
    name,
    namespace: owner.metadata.namespace,
    labels: { ...template.metadata.labels, ...extraLabels },
    annotations: { ...template.metadata.annotations },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: controller.kind, name: controller.name, controller: true }],
  };
  const serviceAccountName =
    typeof template.spec.serviceAccountName === 'string' && template.spec.serviceAccountName !== ''
      ? template.spec.serviceAccountName
      : typeof template.spec.serviceAccount === 'string' && template.spec.serviceAccount !== ''
        ? template.spec.serviceAccount // the deprecated alias the API server still honours
        : DEFAULT_SERVICE_ACCOUNT;
  const containers = Array.isArray(template.spec.containers) ? template.spec.containers : [];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: { ...structuredClone(template.spec), containers: structuredClone(containers), serviceAccountName, ...specOverrides },
  };
}

/**
 * The pod's origin is the controller's template: `spec.template.spec.containers[0]` of the Deployment
 * becomes the pod's `spec.containers[0]`, at the same file:line.
 */
const templateSourceCache = new WeakMap<ResourceSource, ResourceSource>();

function templateSource(source: ResourceSource): ResourceSource {
  const cached = templateSourceCache.get(source);
  if (cached) return cached;
  const fieldLines = new Map<string, number>();
  const prefix = 'spec.template.';
  for (const [path, line] of source.fieldLines ?? []) {
    if (path.startsWith(prefix)) fieldLines.set(path.slice(prefix.length), line);
  }
  const line = source.fieldLines?.get('spec.template') ?? source.line;
  const out: ResourceSource = { file: source.file, line, document: source.document, fieldLines };
  templateSourceCache.set(source, out);
  return out;
}

/** A hash of the pod template that changes whenever the template does, like Kubernetes' pod-template-hash. */
function templateHash(template: Template): string {
  return safeEncode(fnv1a32(stableJson(template)), TEMPLATE_HASH_LENGTH);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * Writes the number in Kubernetes' safe alphabet, `length` characters long. (Kubernetes maps the
 * decimal digits of the hash one by one; spreading the number over the alphabet gives the same look
 * with a fixed length.)
 */
function safeEncode(value: number, length: number): string {
  let n = value;
  let out = '';
  for (let i = 0; i < length; i++) {
    out += SAFE_ALPHABET[n % SAFE_ALPHABET.length];
    n = Math.floor(n / SAFE_ALPHABET.length);
    if (n === 0) n = fnv1a32(out); // keep mixing so long outputs do not end in a run of 'b'
  }
  return out;
}

function stringMap(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}
