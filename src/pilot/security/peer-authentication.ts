/**
 * Which mTLS mode a workload's port accepts, from PeerAuthentication: a policy selecting the workload,
 * else its namespace's policy, else the mesh-wide one in the root namespace, else PERMISSIVE. UNSET
 * inherits from the next level up; portLevelMtls (keyed by the workload's port) only counts on a policy
 * with a selector, as in Istio.
 */
import type { LoadedResource } from '../../config/resource.js';

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

function selects(sel: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return !!sel && Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
}

export function mtlsModeFor(policies: readonly LoadedResource[], rootNamespace: string, namespace: string, labels: Record<string, string>, port?: number): MtlsMode {
  const ns = (r: LoadedResource) => r.resource.metadata.namespace ?? 'default';
  const workload = policies.find((p) => ns(p) === namespace && selects(spec(p).selector?.matchLabels, labels));
  const namespaceWide = policies.find((p) => ns(p) === namespace && !spec(p).selector?.matchLabels);
  const meshWide = policies.find((p) => ns(p) === rootNamespace && !spec(p).selector?.matchLabels);
  if (workload && port !== undefined) {
    const pl = spec(workload).portLevelMtls?.[String(port)]?.mode;
    if (pl && pl !== 'UNSET') return pl;
  }
  for (const p of [workload, namespaceWide, meshWide]) {
    const mode = p && spec(p).mtls?.mode;
    if (mode && mode !== 'UNSET') return mode;
  }
  return 'PERMISSIVE';
}
