/**
 * Route tables shared across namespaces. A sidecar's table for a port has a virtual host per service, and
 * in a mesh where nothing else depends on the namespace (see scope-facts.ts) the only difference between
 * two namespaces' tables is the short names (`reviews`) of each namespace's own services. So the table is
 * built once for a namespace with no services ("neutral"), and each namespace's table is that one with
 * its own services' hosts swapped in: one namespace's worth of work per namespace instead of the mesh's.
 * Virtual hosts are interned, so the encoder (resource-encoder.ts) encodes each distinct host once.
 */
import type { JsonObject } from '../proxy/config/fields.js';
import type { GenContext } from './context.js';
import type { ServiceView } from './model.js';
import type { PushCache } from './push-cache.js';
import { buildOutboundRouteConfig } from './routes/route-configs.js';

/** A namespace no Kubernetes object can have (names are DNS labels), so no service, rule or short name matches it. */
const NEUTRAL_NAMESPACE = '~neutral';

/** The services of one namespace only; lookups by name still see the whole mesh. */
function onlyNamespace(view: ServiceView, namespace: string): ServiceView {
  return {
    services: () => view.services().filter((s) => s.namespace === namespace),
    service: (h) => view.service(h),
    endpoints: (h, p) => view.endpoints(h, p),
    instancesOf: (ip) => view.instancesOf(ip),
    podLabels: (ip) => view.podLabels(ip),
  };
}

/**
 * The route table of `port` for the proxy of `ctx`, equal to buildOutboundRouteConfig(port, ctx). Only
 * valid when the cache's scope facts say the mesh is namespace-free.
 */
export function sharedRouteConfig(port: number, ctx: GenContext, cache: PushCache): JsonObject {
  const neutralCtx: GenContext = { ...ctx, proxy: { ...ctx.proxy, namespace: NEUTRAL_NAMESPACE } };
  const neutral = cache.named('routes-neutral', neutralCtx, String(port), () => internHosts(buildOutboundRouteConfig(port, neutralCtx), cache), false)!;
  const ownView = onlyNamespace(ctx.services, ctx.proxy.namespace);
  const own = buildOutboundRouteConfig(port, { ...ctx, services: ownView });
  // Only the namespace's own services' hosts differ; the rest of this build (rule-only hosts named like
  // other namespaces' services, the catch-all) is not what the neutral table has under those names.
  const ownNames = new Set(ownView.services().map((s) => `${s.hostname}:${port}`));
  const ownHosts = new Map<string, JsonObject>();
  for (const vh of own.virtual_hosts as JsonObject[]) if (ownNames.has(vh.name as string)) ownHosts.set(vh.name as string, vh);
  const merged: JsonObject[] = [];
  for (const vh of neutral.virtual_hosts as JsonObject[]) {
    const mine = ownHosts.get(vh.name as string);
    merged.push(mine ? cache.intern(mine) : vh);
    ownHosts.delete(vh.name as string);
  }
  // Every host of the namespace's own build must be one of the mesh's; if not, trust the direct build.
  if (ownHosts.size > 0) return buildOutboundRouteConfig(port, ctx);
  return { ...neutral, virtual_hosts: merged };
}

function internHosts(rc: JsonObject, cache: PushCache): JsonObject {
  return { ...rc, virtual_hosts: (rc.virtual_hosts as JsonObject[]).map((vh) => cache.intern(vh)) };
}
