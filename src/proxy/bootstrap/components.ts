/**
 * The parts of the proxy built in other folders, in one place: the cluster manager, the network
 * filters (imported for their registration) and the route compiler.
 */
import type { ProxyContext } from '../context.js';
import { ClusterManagerImpl } from '../upstream/cluster-manager.js';
import '../http/connection-manager.js';
import '../tcp/tcp-proxy.js';
import '../stats/istio-stats-filter.js';
import { compileRouteConfiguration } from '../http/route-config.js';
import type { RouteCompiler } from './route-registry.js';

export type ManagedClusters = ClusterManagerImpl;

export function createClusterManager(ctx: Omit<ProxyContext, 'clusters' | 'routes'>): ManagedClusters {
  return new ClusterManagerImpl(ctx);
}

/** The route compiler RDS tables go through (the HCM registers itself as a network filter on import). */
export const routeCompiler: RouteCompiler = compileRouteConfiguration;
