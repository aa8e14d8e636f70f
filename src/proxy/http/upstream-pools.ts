/**
 * Where the router finds the connection pool for a (cluster, host, protocol). Pools hang off the
 * Host object (stable across requests) so the lookup is a WeakMap hit, not a string key per request.
 */
import type { Cluster, Host } from '../upstream/api.js';
import { H1Pool } from './h1-pool.js';
import { H2Pool } from './h2-pool.js';

interface HostPools {
  h1?: H1Pool;
  h2?: H2Pool;
}

const byHost = new WeakMap<Host, HostPools>();

/** Every live pool, so idle connections to removed clusters or hosts can be closed. */
const live = new Set<H1Pool | H2Pool>();
const SWEEP_MS = 5_000;
let sweeper: NodeJS.Timeout | undefined;

function track(pool: H1Pool | H2Pool): void {
  live.add(pool);
  if (!sweeper) {
    sweeper = setInterval(sweep, SWEEP_MS);
    sweeper.unref();
  }
}

/**
 * A removed or replaced cluster, or a host EDS took away, must not keep upstream connections open
 * until their idle timeout (1 h by default): idle ones are closed here; busy ones close after their
 * request.
 */
export function sweep(): void {
  for (const pool of live) if (pool.isStale()) pool.closeIdle();
  if (live.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

function removeH1(pool: H1Pool): void {
  live.delete(pool);
  const p = byHost.get(pool.host);
  if (p && p.h1 === pool) p.h1 = undefined;
}

function removeH2(pool: H2Pool): void {
  live.delete(pool);
  const p = byHost.get(pool.host);
  if (p && p.h2 === pool) p.h2 = undefined;
}

export function h1PoolFor(cluster: Cluster, host: Host): H1Pool {
  let p = byHost.get(host);
  if (!p) byHost.set(host, (p = {}));
  if (!p.h1) track((p.h1 = new H1Pool(cluster, host, removeH1)));
  else p.h1.updateCluster(cluster);
  return p.h1;
}

export function h2PoolFor(cluster: Cluster, host: Host): H2Pool {
  let p = byHost.get(host);
  if (!p) byHost.set(host, (p = {}));
  if (!p.h2) track((p.h2 = new H2Pool(cluster, host, removeH2)));
  else p.h2.updateCluster(cluster);
  return p.h2;
}
