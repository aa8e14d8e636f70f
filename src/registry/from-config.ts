/**
 * A registry from everything a config source loaded, Deployments and StatefulSets included: they are
 * expanded into the Pods Kubernetes would run (src/config/workloads.ts) and replace any raw objects of
 * those kinds, so callers such as the control plane's service-view factory need no preparation step.
 */
import type { LoadedResource } from '../config/resource.js';
import { expandWorkloads } from '../config/workloads.js';
import type { RegistryOptions } from './options.js';
import { buildRegistry, type ServiceRegistry } from './service-registry.js';

const WORKLOAD_KINDS = new Set(['Pod', 'Deployment', 'StatefulSet']);

export function registryFromConfig(resources: readonly LoadedResource[], options: Partial<RegistryOptions> = {}): ServiceRegistry {
  const others = resources.filter((r) => !WORKLOAD_KINDS.has(r.resource.kind));
  return buildRegistry([...others, ...expandWorkloads(resources)], options);
}
