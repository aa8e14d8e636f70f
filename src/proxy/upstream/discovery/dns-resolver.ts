/**
 * How STRICT_DNS and LOGICAL_DNS clusters turn a name into addresses. First the system resolver
 * (getaddrinfo: /etc/hosts, then the nameservers of the pod's resolv.conf), as Envoy's default resolver
 * reads the same files. When that fails, the pod's own DNS proxy on 127.0.0.1:15053 is asked directly:
 * in a sidecar pod the resolv.conf nameserver is only reachable through the capture rules, and the proxy's
 * own queries (UID 1337) are never captured, so without this a ServiceEntry endpoint name that only the
 * mesh's DNS knows would never resolve. Where no DNS proxy listens the second step fails fast and the
 * first error is reported.
 */
import { lookup, Resolver } from 'node:dns';

export type LookupFamily = 0 | 4 | 6;
export interface ResolvedAddress {
  address: string;
  family: number;
  /** Seconds the answer may be cached (only known when it came from a DNS server, not getaddrinfo). */
  ttl?: number;
}
export type ResolveCallback = (err: Error | null, addresses: ResolvedAddress[]) => void;

export const POD_DNS_PROXY = '127.0.0.1:15053';
const PROXY_TIMEOUT_MS = 2000;

export function resolveName(name: string, family: LookupFamily, dnsProxy: string, done: ResolveCallback): void {
  lookup(name, { all: true, family }, (err, addresses) => {
    if (!err) {
      done(null, addresses);
      return;
    }
    askDnsProxy(name, family, dnsProxy, (proxyErr, viaProxy) => (proxyErr || viaProxy.length === 0 ? done(err, []) : done(null, viaProxy)));
  });
}

function askDnsProxy(name: string, family: LookupFamily, dnsProxy: string, done: ResolveCallback): void {
  const resolver = new Resolver({ timeout: PROXY_TIMEOUT_MS, tries: 1 });
  resolver.setServers([dnsProxy]);
  const out: ResolvedAddress[] = [];
  const wanted: Array<4 | 6> = family === 0 ? [4, 6] : [family];
  let pending = wanted.length;
  let firstErr: Error | null = null;
  for (const f of wanted) {
    const cb = (err: Error | null, addrs: Array<{ address: string; ttl: number }>) => {
      if (err) firstErr ??= err;
      else for (const a of addrs) out.push({ address: a.address, family: f, ttl: a.ttl });
      if (--pending === 0) done(out.length ? null : firstErr, out);
    };
    if (f === 4) resolver.resolve4(name, { ttl: true }, cb);
    else resolver.resolve6(name, { ttl: true }, cb);
  }
}
