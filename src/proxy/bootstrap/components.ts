/**
 * Finds the parts of the proxy built by other modules (the cluster manager, the HTTP connection
 * manager and route compiler) by their module paths, so the proxy runs with whichever parts are
 * present: a TCP-only build still starts, and says clearly what is missing when config needs it.
 */
import type { JsonObject } from '../config/fields.js';
import type { ProxyContext } from '../context.js';
import type { Cluster, ClusterManager, Host } from '../upstream/api.js';
import type { RouteCompiler } from './route-registry.js';

/** The cluster manager as the proxy drives it (see the upstream helper's cluster-manager.ts). */
export interface ManagedClusters extends ClusterManager {
  addOrUpdate(json: JsonObject, path: string): void;
  remove(name: string): unknown;
  updateEndpoints(name: string, claJson: JsonObject, path?: string): void;
  names(): string[];
  dump(): JsonObject[];
  hosts?(name: string): readonly Host[];
  close?(): void;
}

async function optionalImport(spec: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(spec)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: string }).code;
    // Only the module itself being absent means "not in this build"; a broken import inside it is a bug to report.
    const file = spec.slice(spec.lastIndexOf('/') + 1);
    if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(file)) return undefined;
    throw err;
  }
}

/** A stand-in that knows no clusters, so listeners still compile and report NC/"no cluster" at runtime. */
class NoClusters implements ManagedClusters {
  get(_name: string): Cluster | undefined {
    return undefined;
  }
  addOrUpdate(json: JsonObject, path: string): void {
    throw Object.assign(new Error(`${path}: clusters are not supported by this build (src/proxy/upstream/cluster-manager.ts is missing)`), { json });
  }
  remove(): void {}
  updateEndpoints(): void {}
  names(): string[] {
    return [];
  }
  dump(): JsonObject[] {
    return [];
  }
}

export async function loadClusterManager(ctx: Omit<ProxyContext, 'clusters' | 'routes'>): Promise<ManagedClusters> {
  const mod = await optionalImport('../upstream/cluster-manager.js');
  const Impl = mod?.ClusterManagerImpl as (new (c: Omit<ProxyContext, 'clusters' | 'routes'>) => ManagedClusters) | undefined;
  return Impl ? new Impl(ctx) : new NoClusters();
}

/** Registers the HTTP connection manager network filter and returns the route compiler, when present. */
export async function loadHttp(): Promise<RouteCompiler | undefined> {
  await optionalImport('../http/connection-manager.js');
  const routes = await optionalImport('../http/route-config.js');
  return routes?.compileRouteConfiguration as RouteCompiler | undefined;
}

/** Registers the tcp_proxy network filter. */
export async function loadTcp(): Promise<void> {
  await import('../tcp/tcp-proxy.js');
}
