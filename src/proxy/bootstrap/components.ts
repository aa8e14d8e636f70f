/**
 * The parts of the proxy built in other folders: the cluster manager, and the HTTP connection
 * manager and route compiler, found by module path so a build without HTTP still runs TCP.
 */
import type { ProxyContext } from '../context.js';
import { ClusterManagerImpl } from '../upstream/cluster-manager.js';
import type { RouteCompiler } from './route-registry.js';

export type ManagedClusters = ClusterManagerImpl;

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

export function createClusterManager(ctx: Omit<ProxyContext, 'clusters' | 'routes'>): ManagedClusters {
  return new ClusterManagerImpl(ctx);
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
