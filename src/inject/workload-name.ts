/**
 * The workload a pod belongs to (Istio's WORKLOAD_NAME and the canonical service labels): the
 * Deployment behind a ReplicaSet owner (its name less the pod-template-hash), another controller's
 * name, or for a bare pod its own name (or generateName less the trailing dash).
 */
import type { Pod } from './pod.js';

export function workloadName(pod: Pod): string {
  const md = pod.metadata ?? {};
  const owner = (md.ownerReferences ?? []).find((o) => o.controller) ?? md.ownerReferences?.[0];
  if (owner?.name) {
    const hash = md.labels?.['pod-template-hash'];
    if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) return owner.name.slice(0, -(hash.length + 1));
    return owner.name;
  }
  if (md.name) return md.name;
  return (md.generateName ?? 'pod').replace(/-$/, '');
}

/** Istio's service.istio.io/canonical-name and canonical-revision, from the usual app labels. */
export function canonicalService(pod: Pod, workload = workloadName(pod)): { name: string; revision: string } {
  const l = pod.metadata?.labels ?? {};
  return {
    name: l['service.istio.io/canonical-name'] ?? l['app.kubernetes.io/name'] ?? l.app ?? workload,
    revision: l['service.istio.io/canonical-revision'] ?? l['app.kubernetes.io/version'] ?? l.version ?? 'latest',
  };
}
