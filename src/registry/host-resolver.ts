/**
 * What a host written in a VirtualService or DestinationRule refers to, by Istio's rules: the name is
 * first made fully qualified relative to the *config's* namespace (`ResolveShortnameToFQDN`: only a name
 * without any dot is expanded, so `reviews.default` stays `reviews.default` and names nothing unless a
 * ServiceEntry declares exactly that), then matched against the registry, wildcards included. Only
 * services exported to the config's namespace count. A per-pod name under a headless service
 * (`web-0.web.ns.svc.cluster.local`) resolves to that service and the pod's endpoint.
 */
import { isVisible } from './export-to.js';
import { hostMatches, isWildcard, resolveShortnameToFqdn } from './hostname.js';
import type { RegistryEndpoint, RegistryService } from './model.js';

export interface HostResolution {
  /** The host as written. */
  readonly host: string;
  /** After short-name expansion. */
  readonly fqdn: string;
  readonly wildcard: boolean;
  /** Services the host selects that are visible from the config's namespace, in hostname order. */
  readonly services: readonly RegistryService[];
  /** Set when `fqdn` is a pod's own name under a headless service. */
  readonly podEndpoint?: RegistryEndpoint;
}

/** The registry, seen from the resolver. */
export interface HostLookup {
  servicesNamed(hostname: string): readonly RegistryService[];
  allServices(): readonly RegistryService[];
  endpointsOf(service: RegistryService): Iterable<RegistryEndpoint>;
}

export function resolveHost(host: string, configNamespace: string, domainSuffix: string, lookup: HostLookup): HostResolution {
  const fqdn = resolveShortnameToFqdn(host, configNamespace, domainSuffix);
  const visible = (s: RegistryService): boolean => isVisible(s.exportTo, configNamespace);
  if (isWildcard(fqdn)) {
    const services = lookup.allServices().filter((s) => visible(s) && hostMatches(fqdn, s.hostname));
    return { host, fqdn, wildcard: true, services };
  }
  const direct = lookup.servicesNamed(fqdn).filter(visible);
  if (direct.length > 0) return { host, fqdn, wildcard: false, services: direct };
  const pod = podUnderHeadless(fqdn, domainSuffix, lookup, visible);
  if (pod) return { host, fqdn, wildcard: false, services: [pod.service], podEndpoint: pod.endpoint };
  return { host, fqdn, wildcard: false, services: [] };
}

function podUnderHeadless(
  fqdn: string,
  domainSuffix: string,
  lookup: HostLookup,
  visible: (s: RegistryService) => boolean,
): { service: RegistryService; endpoint: RegistryEndpoint } | undefined {
  if (!fqdn.endsWith(`.svc.${domainSuffix}`)) return undefined;
  const dot = fqdn.indexOf('.');
  if (dot <= 0) return undefined;
  for (const service of lookup.servicesNamed(fqdn.slice(dot + 1))) {
    if (!service.headless || !visible(service)) continue;
    for (const endpoint of lookup.endpointsOf(service)) if (endpoint.hostname === fqdn) return { service, endpoint };
  }
  return undefined;
}
