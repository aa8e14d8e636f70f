/**
 * What the registry tells its subscribers after each applied batch. Service events carry the
 * (hostname, namespace) the service is keyed by, because one host may be defined in several namespaces;
 * endpoint events carry only the hostname, which is how EDS clusters (`outbound|port|subset|host`) are named.
 * An endpoint-only change (a pod added, removed, relabelled, or becoming ready) yields endpoint events only,
 * so consumers can push EDS without recomputing listeners, routes and clusters.
 */
import type { RegistryService } from './model.js';

export type RegistryEvent =
  | { readonly type: 'service-added'; readonly hostname: string; readonly namespace: string; readonly service: RegistryService }
  | {
      readonly type: 'service-updated';
      readonly hostname: string;
      readonly namespace: string;
      readonly service: RegistryService;
      readonly previous: RegistryService;
    }
  | { readonly type: 'service-removed'; readonly hostname: string; readonly namespace: string; readonly previous: RegistryService }
  | { readonly type: 'endpoints-changed'; readonly hostname: string };

export type RegistryListener = (events: readonly RegistryEvent[]) => void;

/** Whether any event in the batch needs more than an EDS push. */
export function hasServiceChange(events: readonly RegistryEvent[]): boolean {
  return events.some((e) => e.type !== 'endpoints-changed');
}
