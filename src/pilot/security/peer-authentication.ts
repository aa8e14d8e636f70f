/**
 * Which mTLS mode a workload's port accepts, from PeerAuthentication: a policy selecting the workload,
 * else its namespace's policy, else the mesh-wide one in the root namespace, else PERMISSIVE. UNSET
 * inherits from the next level up; portLevelMtls (keyed by the workload's port) only counts on a policy
 * with a selector, as in Istio. In the root namespace the namespace-wide policy is the mesh-wide one.
 */
import type { LoadedResource } from '../../config/resource.js';
import { matchesSelector } from '../../registry/labels.js';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';
type RawMode = MtlsMode | 'UNSET' | undefined;

interface PeerAuthenticationSpec {
  selector?: { matchLabels?: Record<string, string> };
  mtls?: { mode?: RawMode };
  portLevelMtls?: Record<string, { mode?: RawMode }>;
}

function spec(r: LoadedResource): PeerAuthenticationSpec {
  return (r.resource.spec ?? {}) as PeerAuthenticationSpec;
}

/** A selector with no labels is no selector (Istio): the policy is namespace- or mesh-wide. */
function selectorOf(r: LoadedResource): Record<string, string> | undefined {
  const sel = spec(r).selector?.matchLabels;
  return sel && Object.keys(sel).length > 0 ? sel : undefined;
}

/**
 * The policies that decide a workload's mode, most specific first: the first one selecting it in its
 * namespace, its namespace's first selector-less one, the root namespace's first selector-less one.
 * `sailfin x describe` lists these, so what it shows is what the generator used.
 */
export interface PeerAuthenticationChain {
  workload?: LoadedResource;
  namespace?: LoadedResource;
  mesh?: LoadedResource;
}

export function peerAuthenticationsFor(policies: readonly LoadedResource[], rootNamespace: string, namespace: string, labels: Record<string, string>): PeerAuthenticationChain {
  const ns = (r: LoadedResource) => r.resource.metadata.namespace ?? 'default';
  return {
    workload: policies.find((p) => {
      const sel = selectorOf(p);
      return ns(p) === namespace && !!sel && matchesSelector(labels, sel);
    }),
    namespace: policies.find((p) => ns(p) === namespace && !selectorOf(p)),
    mesh: namespace === rootNamespace ? undefined : policies.find((p) => ns(p) === rootNamespace && !selectorOf(p)),
  };
}

export function mtlsModeFor(policies: readonly LoadedResource[], rootNamespace: string, namespace: string, labels: Record<string, string>, port?: number): MtlsMode {
  const { workload, namespace: namespaceWide, mesh } = peerAuthenticationsFor(policies, rootNamespace, namespace, labels);
  if (workload && port !== undefined) {
    const pl = spec(workload).portLevelMtls?.[String(port)]?.mode;
    if (pl && pl !== 'UNSET') return pl;
  }
  for (const p of [workload, namespaceWide, mesh]) {
    const mode = p && spec(p).mtls?.mode;
    if (mode && mode !== 'UNSET') return mode;
  }
  return 'PERMISSIVE';
}
