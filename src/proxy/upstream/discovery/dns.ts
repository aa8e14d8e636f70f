/**
 * STRICT_DNS and LOGICAL_DNS: endpoint names resolved (dns-resolver.ts: the system resolver, then the
 * pod's DNS proxy) at start and again after dns_refresh_rate (or the answer's TTL with respect_dns_ttl).
 * STRICT_DNS makes one host per address of every name; LOGICAL_DNS one host that follows the first
 * address. A failed lookup keeps the addresses the name had, as Envoy does.
 *
 * A name that has never resolved is asked again after 1 s, doubling up to 5 s (or the refresh rate
 * when shorter), instead of only after dns_refresh_rate (60 s in Istio's config): in the local mesh the names of a new
 * ServiceEntry reach the pod's DNS proxy about when its cluster reaches the sidecar, and losing that
 * race must not leave the cluster empty for a minute. This plays the part of Envoy's
 * dns_failure_refresh_rate backoff, which Istio's generated clusters leave unset.
 */
import { isIP } from 'node:net';
import type { ClusterConfig, DnsFamily } from '../cluster-config.js';
import type { EndpointSpec } from '../host.js';
import { POD_DNS_PROXY, resolveName } from './dns-resolver.js';

const FIRST_RETRY_MS = 1000;
/** One query per 5 s for a name nobody knows is cheap; waiting longer delays a late name that long. */
const MAX_RETRY_MS = 5000;

export class DnsDiscovery {
  /** Last addresses per endpoint (index into the load assignment's endpoints). */
  private readonly resolved: (string[] | undefined)[];
  private readonly specs: readonly EndpointSpec[];
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** Consecutive refreshes that left some name without any address. */
  private unresolvedRounds = 0;

  constructor(
    private readonly cfg: ClusterConfig,
    private readonly publish: (specs: EndpointSpec[]) => void,
    private readonly onError: (name: string, err: Error) => void,
    /** host:port of the pod's DNS proxy; tests point it at their own server. */
    private readonly dnsProxy = POD_DNS_PROXY,
  ) {
    this.specs = cfg.loadAssignment!.endpoints;
    this.resolved = this.specs.map((s) => (isIP(s.address) ? [s.address] : undefined));
    if (this.resolved.every((r) => r !== undefined)) {
      this.emit();
      return;
    }
    this.refresh();
  }

  private refresh(): void {
    let pending = 0;
    let minTtl = Infinity;
    this.specs.forEach((spec, i) => {
      if (isIP(spec.address)) return;
      pending++;
      resolveName(spec.address, familyNumber(this.cfg.dnsFamily), this.dnsProxy, (err, addresses) => {
        if (this.closed) return;
        if (err) this.onError(spec.address, err);
        else {
          this.resolved[i] = pickAddresses(addresses, this.cfg.dnsFamily);
          for (const a of addresses) if (a.ttl !== undefined && a.ttl > 0) minTtl = Math.min(minTtl, a.ttl);
        }
        if (--pending === 0) {
          this.emit();
          if (this.resolved.some((r) => r === undefined)) this.refreshAfter(Math.min(FIRST_RETRY_MS * 2 ** this.unresolvedRounds++, MAX_RETRY_MS, this.cfg.dnsRefreshRateMs));
          else {
            this.unresolvedRounds = 0;
            // Envoy's respect_dns_ttl: the shortest TTL of the answers when known, else dns_refresh_rate.
            this.refreshAfter(this.cfg.respectDnsTtl && Number.isFinite(minTtl) ? minTtl * 1000 : this.cfg.dnsRefreshRateMs);
          }
        }
      });
    });
  }

  private refreshAfter(ms: number): void {
    this.timer = setTimeout(() => this.refresh(), ms);
    this.timer.unref();
  }

  private emit(): void {
    const out: EndpointSpec[] = [];
    if (this.cfg.type === 'LOGICAL_DNS') {
      const first = this.resolved[0]?.[0];
      if (first === undefined) return;
      out.push({ ...this.specs[0], address: first, hostname: this.specs[0].hostname ?? this.specs[0].address });
    } else {
      this.specs.forEach((spec, i) => {
        for (const address of this.resolved[i] ?? []) out.push({ ...spec, address, hostname: spec.hostname ?? (isIP(spec.address) ? undefined : spec.address) });
      });
    }
    this.publish(out);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

function familyNumber(f: DnsFamily): 0 | 4 | 6 {
  return f === 'V4_ONLY' ? 4 : f === 'V6_ONLY' ? 6 : 0;
}

/** AUTO prefers IPv6 (Envoy's AUTO), V4_PREFERRED prefers IPv4, ALL keeps both. */
function pickAddresses(addresses: { address: string; family: number }[], f: DnsFamily): string[] {
  const v4 = addresses.filter((a) => a.family === 4).map((a) => a.address);
  const v6 = addresses.filter((a) => a.family === 6).map((a) => a.address);
  switch (f) {
    case 'V4_ONLY':
      return v4;
    case 'V6_ONLY':
      return v6;
    case 'V4_PREFERRED':
      return v4.length ? v4 : v6;
    case 'ALL':
      return [...v4, ...v6];
    default:
      return v6.length ? v6 : v4;
  }
}
