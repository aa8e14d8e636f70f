/**
 * Every place a VirtualService names a destination (HTTP, TCP and TLS routes, and mirrors), with its
 * field path, so the destination analyzers check all of them the same way.
 */
import { isPlainObject } from '../config/documents.js';
import { childPath } from '../config/messages.js';
import type { LoadedResource } from '../config/resource.js';

export interface RouteDestination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: number;
  /** Path of the `destination` object, e.g. `spec.http[0].route[1].destination`. */
  readonly path: string;
  /** Whether this is a mirror (traffic copy), not a route target. */
  readonly mirror: boolean;
}

export function routeDestinations(vs: LoadedResource): RouteDestination[] {
  const spec = isPlainObject(vs.resource.spec) ? vs.resource.spec : {};
  const out: RouteDestination[] = [];
  for (const section of ['http', 'tcp', 'tls'] as const) {
    const routes = Array.isArray(spec[section]) ? spec[section] : [];
    routes.forEach((route: unknown, i: number) => {
      if (!isPlainObject(route)) return;
      const routePath = childPath(`spec.${section}`, i);
      (Array.isArray(route.route) ? route.route : []).forEach((dest: unknown, j: number) => {
        if (isPlainObject(dest)) add(out, dest.destination, `${childPath(`${routePath}.route`, j)}.destination`, false);
      });
      if (section !== 'http') return;
      add(out, route.mirror, `${routePath}.mirror`, true);
      (Array.isArray(route.mirrors) ? route.mirrors : []).forEach((m: unknown, k: number) => {
        if (isPlainObject(m)) add(out, m.destination, `${childPath(`${routePath}.mirrors`, k)}.destination`, true);
      });
    });
  }
  return out;
}

function add(out: RouteDestination[], destination: unknown, path: string, mirror: boolean): void {
  if (!isPlainObject(destination) || typeof destination.host !== 'string' || destination.host === '') return;
  const port = isPlainObject(destination.port) && typeof destination.port.number === 'number' ? destination.port.number : undefined;
  const subset = typeof destination.subset === 'string' && destination.subset !== '' ? destination.subset : undefined;
  out.push({ host: destination.host, subset, port, path, mirror });
}

/** The gateways a VirtualService is bound to, as written; empty means only `mesh`. */
export function boundGateways(vs: LoadedResource): string[] {
  const spec = isPlainObject(vs.resource.spec) ? vs.resource.spec : {};
  const gateways = Array.isArray(spec.gateways) ? spec.gateways.filter((g): g is string => typeof g === 'string') : [];
  return gateways.length === 0 ? ['mesh'] : gateways;
}

/** The VirtualService's hosts as written. */
export function vsHosts(vs: LoadedResource): string[] {
  const spec = isPlainObject(vs.resource.spec) ? vs.resource.spec : {};
  return Array.isArray(spec.hosts) ? spec.hosts.filter((h): h is string => typeof h === 'string') : [];
}

/**
 * `namespace/name` of a gateway reference made from `namespace`: `name`, `ns/name`, or the older
 * dotted `name.ns[.svc.cluster.local]` form.
 */
export function gatewayKey(ref: string, namespace: string): string {
  const slash = ref.indexOf('/');
  if (slash >= 0) return `${ref.slice(0, slash)}/${ref.slice(slash + 1)}`;
  const dot = ref.indexOf('.');
  if (dot >= 0) {
    const parts = ref.split('.');
    return `${parts[1]}/${parts[0]}`;
  }
  return `${namespace}/${ref}`;
}
