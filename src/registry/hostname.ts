/**
 * Hostnames as Istio treats them: short-name expansion (`ResolveShortnameToFQDN`), wildcard matching
 * (`host.Name.Matches` / `SubsetOf`), and the alternative names a caller may use for a Kubernetes
 * service (`GenerateAltVirtualHosts`).
 */
import { isIP } from 'node:net';

/** `*` alone, or `*.suffix`. */
export function isWildcard(host: string): boolean {
  return host.startsWith('*');
}

/**
 * Istio's `ResolveShortnameToFQDN`: `*` and IP addresses stay as they are; a name without any dot becomes
 * `name.<configNamespace>.svc.<domain>`; a name with a dot is taken as already fully qualified, so
 * `reviews.default` is *not* expanded. A leading `*.` wildcard keeps its star: `*.foo` is dotted, so kept.
 */
export function resolveShortnameToFqdn(host: string, configNamespace: string, domain: string): string {
  if (host === '*' || isIP(host) !== 0) return host;
  if (host.includes('.')) return host;
  return `${host}.${configNamespace}.svc.${domain}`;
}

/**
 * Istio's `host.Name.Matches`: true when the two names could select the same host. Either side may be a
 * wildcard; `*.example.com` matches `a.example.com` and `*.a.example.com`, but not `example.com`.
 */
export function hostMatches(a: string, b: string): boolean {
  const aWild = isWildcard(a);
  const bWild = isWildcard(b);
  if (aWild && bWild) {
    return a.length < b.length ? b.slice(1).endsWith(a.slice(1)) : a.slice(1).endsWith(b.slice(1));
  }
  if (aWild) return b.endsWith(a.slice(1));
  if (bWild) return a.endsWith(b.slice(1));
  return a === b;
}

/**
 * Istio's `host.Name.SubsetOf`: true when every host `inner` selects is also selected by `outer`
 * (`a.example.com` ⊆ `*.example.com` ⊆ `*`, but `*.example.com` ⊄ `a.example.com`).
 */
export function hostSubsetOf(inner: string, outer: string): boolean {
  if (inner === outer) return true;
  if (!isWildcard(outer)) return false;
  if (outer === '*') return true;
  return inner.endsWith(outer.slice(1));
}

/** The fully qualified name of a Kubernetes service. */
export function serviceFqdn(name: string, namespace: string, domain: string): string {
  return `${name}.${namespace}.svc.${domain}`;
}

/**
 * Istio's `generateAltVirtualHosts` without ports: the shorter names a caller in `callerNamespace` may use
 * for `hostname`. Only names of the form `name.ns.svc.<domain>` get any:
 * - same namespace  → `name`, `name.ns`, `name.ns.svc`
 * - other namespace → `name.ns`, `name.ns.svc`
 * Anything else (ServiceEntry hosts such as `httpbin.org`) has none. The FQDN itself is not included.
 */
export function altHostnames(hostname: string, callerNamespace: string, domain: string): string[] {
  const suffix = `.svc.${domain}`;
  if (!hostname.endsWith(suffix)) return [];
  const nameNs = hostname.slice(0, hostname.length - suffix.length); // "name.ns"
  const dot = nameNs.indexOf('.');
  if (dot <= 0 || dot === nameNs.length - 1) return [];
  const name = nameNs.slice(0, dot);
  const ns = nameNs.slice(dot + 1);
  if (ns === callerNamespace) return [name, nameNs, `${nameNs}.svc`];
  return [nameNs, `${nameNs}.svc`];
}

/**
 * Every HTTP `Host`/`:authority` value that selects `hostname` on `port` for a caller in `callerNamespace`:
 * the FQDN and its alternative names, each with and without `:port`, then each VIP with and without `:port`.
 * This is the `domains` list of a sidecar's outbound virtual host.
 */
export function virtualHostDomains(
  hostname: string,
  port: number,
  callerNamespace: string,
  domain: string,
  vips: readonly string[] = [],
): string[] {
  const out: string[] = [];
  for (const h of [hostname, ...altHostnames(hostname, callerNamespace, domain)]) out.push(h, `${h}:${port}`);
  for (const vip of vips) {
    const shown = isIP(vip) === 6 ? `[${vip}]` : vip;
    out.push(vip, `${shown}:${port}`);
  }
  return out;
}
