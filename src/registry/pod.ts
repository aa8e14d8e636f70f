/**
 * A Pod manifest (or a pod expanded from a Deployment/StatefulSet) as a registry workload: its address,
 * identity, readiness, locality and whether a sidecar serves it. The address is chosen by the registry
 * (declared `status.podIP`, else allocated) and passed in, because that needs the registry's allocator.
 */
import { isPlainObject } from '../config/documents.js';
import type { LoadedResource } from '../config/resource.js';
import { stringMap, type Labels } from './labels.js';
import { localityFromLabels, NETWORK_LABEL } from './locality.js';
import type { RegistryPod } from './model.js';
import { spiffeIdentity } from './options.js';
import { hasSidecar } from './sidecar-injection.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';

export interface PodContext {
  readonly trustDomain: string;
  readonly namespaceLabels: Labels;
  readonly injectByDefault: boolean;
  readonly podsReadyByDefault: boolean;
}

/** `status.podIP` when the manifest (or the API server) gives one. */
export function declaredPodIp(loaded: LoadedResource): string | undefined {
  const status = loaded.resource.status;
  const ip = isPlainObject(status) ? status.podIP : undefined;
  return typeof ip === 'string' && ip !== '' ? ip : undefined;
}

/** Pods that have finished never serve traffic again, so they are not endpoints. */
export function isTerminal(pod: RegistryPod): boolean {
  return pod.phase === 'Succeeded' || pod.phase === 'Failed';
}

export function podFromResource(loaded: LoadedResource, address: string, ipAllocated: boolean, ctx: PodContext): RegistryPod {
  const r = loaded.resource;
  const namespace = r.metadata.namespace ?? 'default';
  const labels = stringMap(r.metadata.labels);
  const annotations = stringMap(r.metadata.annotations);
  const spec = isPlainObject(r.spec) ? r.spec : {};
  const status = isPlainObject(r.status) ? r.status : {};
  const containers = Array.isArray(spec.containers) ? spec.containers.filter(isPlainObject) : [];
  const serviceAccountName = nonEmpty(spec.serviceAccountName) ?? nonEmpty(spec.serviceAccount) ?? DEFAULT_SERVICE_ACCOUNT;
  const sidecar = hasSidecar({
    podLabels: labels,
    podAnnotations: annotations,
    namespaceLabels: ctx.namespaceLabels,
    containerNames: containers.map((c) => (typeof c.name === 'string' ? c.name : '')),
    hostNetwork: spec.hostNetwork === true,
    injectByDefault: ctx.injectByDefault,
  });
  const phase = nonEmpty(status.phase) ?? 'Running';
  return {
    kind: 'Pod',
    name: r.metadata.name,
    namespace,
    address,
    ipAllocated,
    labels,
    serviceAccountName,
    identity: spiffeIdentity(ctx.trustDomain, namespace, serviceAccountName),
    ready: readiness(status, phase, r.metadata as { deletionTimestamp?: unknown }, ctx.podsReadyByDefault),
    locality: localityFromLabels(labels),
    network: labels[NETWORK_LABEL] ?? '',
    weight: 1,
    sidecar,
    tlsMode: podTlsMode(labels, sidecar, containers),
    namedPorts: containerPorts(containers),
    ...(nonEmpty(spec.hostname) ? { hostname: spec.hostname as string } : {}),
    ...(nonEmpty(spec.subdomain) ? { subdomain: spec.subdomain as string } : {}),
    phase,
    origin: loaded.source,
  };
}

/**
 * Istio reads the endpoint's TLS mode from the `security.istio.io/tlsMode` label, which its injector sets
 * on sidecar pods only. A gateway (`istio-proxy` started as `proxy router`) therefore gets plaintext from
 * sidecars under auto mTLS: its HTTP servers do not terminate mesh mTLS unless a Gateway says ISTIO_MUTUAL.
 */
function podTlsMode(labels: Labels, sidecar: boolean, containers: readonly Record<string, unknown>[]): 'istio' | 'disabled' {
  const labelled = labels['security.istio.io/tlsMode'];
  if (labelled !== undefined) return labelled === 'istio' ? 'istio' : 'disabled';
  const router = containers.some((c) => c.name === 'istio-proxy' && Array.isArray(c.args) && c.args[0] === 'proxy' && c.args[1] === 'router');
  return sidecar && !router ? 'istio' : 'disabled';
}

/**
 * The `Ready` condition when there is one; otherwise running pods are ready by default (a manifest has no
 * status until the local runtime reports one). A pod being deleted is never ready, as in Kubernetes.
 */
function readiness(status: Record<string, unknown>, phase: string, meta: { deletionTimestamp?: unknown }, byDefault: boolean): boolean {
  if (meta.deletionTimestamp) return false;
  if (phase !== 'Running') return false;
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isPlainObject) : [];
  const ready = conditions.find((c) => c.type === 'Ready');
  if (ready) return ready.status === 'True' || ready.status === true;
  return byDefault;
}

/** `containerPort` by port name, for Services whose `targetPort` is a name. First container wins on a clash. */
function containerPorts(containers: readonly Record<string, unknown>[]): ReadonlyMap<string, number> {
  const out = new Map<string, number>();
  for (const c of containers) {
    const ports = Array.isArray(c.ports) ? c.ports.filter(isPlainObject) : [];
    for (const p of ports) {
      if (typeof p.name === 'string' && typeof p.containerPort === 'number' && !out.has(p.name)) out.set(p.name, p.containerPort);
    }
  }
  return out;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
