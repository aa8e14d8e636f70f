/**
 * The traffic-capture rules of a pod, as data, following istio-iptables' REDIRECT mode:
 *
 *   nat PREROUTING ─▶ ISTIO_INBOUND ─▶ ISTIO_IN_REDIRECT (REDIRECT :15006)   inbound to the app's ports
 *   nat OUTPUT     ─▶ ISTIO_OUTPUT  ─▶ ISTIO_REDIRECT    (REDIRECT :15001)   outbound from the app
 *                                  └▶ ISTIO_OUTPUT_DNS  (REDIRECT :15053)   the app's DNS queries
 *
 * Traffic from the proxy's UID/GID is never captured (so the proxy's own upstream connections leave the
 * pod), except proxy → own pod IP over `lo`, which goes to the inbound listener (that is how a pod calling
 * its own service ends up in its inbound path). The app's own loopback traffic is left alone, as is
 * anything to 127.0.0.1. Rendering (iptables-restore text) and applying live in iptables.ts.
 */
export type IpFamily = 4 | 6;
export type Table = 'nat' | 'raw';

/** One rule: `-A <chain> <args…>` in `table`. */
export interface IptablesRule {
  table: Table;
  chain: string;
  args: string[];
}

export interface CaptureRuleSet {
  family: IpFamily;
  /** Chains Sailfin creates, per table (built-in chains are not listed). */
  chains: Record<Table, string[]>;
  rules: IptablesRule[];
}

/** `'*'` means every port / every address. */
export type PortSelection = '*' | number[];
export type RangeSelection = '*' | string[];

export interface CaptureConfig {
  proxyUid: number;
  proxyGid: number;
  /** Outbound capture listener (Istio's 15001). */
  outboundPort: number;
  /** Inbound capture listener (Istio's 15006). */
  inboundPort: number;
  /** DNS proxy port (Istio's 15053). */
  dnsPort: number;
  /** Inbound ports to capture; Istio's default is every port. */
  includeInboundPorts: PortSelection;
  /** Inbound ports never captured (with '*'): the proxy's own ports plus the annotation's. */
  excludeInboundPorts: number[];
  /** Outbound ports always captured, even outside includeOutboundIPRanges. */
  includeOutboundPorts: number[];
  excludeOutboundPorts: number[];
  includeOutboundIPRanges: RangeSelection;
  excludeOutboundIPRanges: string[];
  /** Redirect the app's port-53 traffic (UDP and TCP) to the DNS proxy. */
  captureDns: boolean;
  /** Capture DNS only to these servers (the pod's resolv.conf nameservers); empty means every server. */
  dnsServers: string[];
}

/** Ports the proxy itself listens on in the pod: never captured inbound. */
export const PROXY_INBOUND_EXCLUDED_PORTS = [15090, 15021, 15020, 15000];
/** HBONE tunnel port; Istio always leaves it alone. */
const HBONE_PORT = 15008;
const DNS_PORT = 53;

export const DEFAULT_CAPTURE_CONFIG: Readonly<CaptureConfig> = Object.freeze({
  proxyUid: 1337,
  proxyGid: 1337,
  outboundPort: 15001,
  inboundPort: 15006,
  dnsPort: 15053,
  includeInboundPorts: '*',
  excludeInboundPorts: [...PROXY_INBOUND_EXCLUDED_PORTS],
  includeOutboundPorts: [],
  excludeOutboundPorts: [],
  includeOutboundIPRanges: '*',
  excludeOutboundIPRanges: [],
  captureDns: true,
  dnsServers: [],
});

export const CHAIN = {
  inbound: 'ISTIO_INBOUND',
  inRedirect: 'ISTIO_IN_REDIRECT',
  output: 'ISTIO_OUTPUT',
  redirect: 'ISTIO_REDIRECT',
  outputDns: 'ISTIO_OUTPUT_DNS',
} as const;

interface FamilyAddresses {
  loopback: string;
  /** Source Istio's inbound passthrough uses towards the app, so the app sees a non-127.0.0.1 peer. */
  inboundPassthroughSource: string;
}

const FAMILY: Record<IpFamily, FamilyAddresses> = {
  4: { loopback: '127.0.0.1/32', inboundPassthroughSource: '127.0.0.6/32' },
  6: { loopback: '::1/128', inboundPassthroughSource: '::6/128' },
};

/** `--dport 80` for one port, `-m multiport --dports 80,443` for several (multiport takes at most 15). */
function portMatch(ports: number[], negate = false, flag: 'dport' | 'sport' = 'dport'): string[][] {
  const bang = negate ? ['!'] : [];
  if (ports.length === 1) return [[...bang, `--${flag}`, String(ports[0])]];
  const groups: string[][] = [];
  for (let i = 0; i < ports.length; i += 15) {
    groups.push(['-m', 'multiport', ...bang, `--${flag}s`, ports.slice(i, i + 15).join(',')]);
  }
  return groups;
}

function isV6(cidr: string): boolean {
  return cidr.includes(':');
}

function forFamily(ranges: string[], family: IpFamily): string[] {
  return ranges.filter((r) => isV6(r) === (family === 6)).map((r) => (r.includes('/') ? r : `${r}/${family === 4 ? 32 : 128}`));
}

function isLoopbackRange(cidr: string): boolean {
  return cidr.startsWith('127.') || cidr === '::1/128';
}

/** Builds the rules for one address family from a complete config. */
export function buildCaptureRules(config: CaptureConfig, family: IpFamily = 4): CaptureRuleSet {
  const fam = FAMILY[family];
  const rules: IptablesRule[] = [];
  const nat = (chain: string, ...args: string[]) => rules.push({ table: 'nat', chain, args });
  const raw = (chain: string, ...args: string[]) => rules.push({ table: 'raw', chain, args });
  const natChains: string[] = [CHAIN.inbound, CHAIN.redirect, CHAIN.inRedirect, CHAIN.output];
  const rawChains: string[] = [];

  nat(CHAIN.inbound, '-p', 'tcp', '--dport', String(HBONE_PORT), '-j', 'RETURN');
  nat(CHAIN.redirect, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(config.outboundPort));
  nat(CHAIN.inRedirect, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(config.inboundPort));

  // Inbound: every port except the excluded ones, or only the listed ones.
  const inbound = config.includeInboundPorts;
  if (inbound === '*' || inbound.length > 0) {
    nat('PREROUTING', '-p', 'tcp', '-j', CHAIN.inbound);
    if (inbound === '*') {
      const excluded = [...new Set(config.excludeInboundPorts)];
      for (const m of excluded.length ? portMatch(excluded) : []) nat(CHAIN.inbound, '-p', 'tcp', ...m, '-j', 'RETURN');
      nat(CHAIN.inbound, '-p', 'tcp', '-j', CHAIN.inRedirect);
    } else {
      for (const port of inbound) nat(CHAIN.inbound, '-p', 'tcp', '--dport', String(port), '-j', CHAIN.inRedirect);
    }
  }

  // Outbound. With DNS capture the jump covers UDP too, so the DNS rules below see the app's queries.
  nat('OUTPUT', ...(config.captureDns ? [] : ['-p', 'tcp']), '-j', CHAIN.output);
  if (config.excludeOutboundPorts.length > 0) {
    for (const proto of ['tcp', 'udp']) {
      for (const m of portMatch(config.excludeOutboundPorts)) nat(CHAIN.output, '-p', proto, ...m, '-j', 'RETURN');
    }
  }
  nat(CHAIN.output, '-o', 'lo', '-s', fam.inboundPassthroughSource, '-j', 'RETURN');

  const includeRanges = config.includeOutboundIPRanges === '*' ? '*' : forFamily(config.includeOutboundIPRanges, family);
  // When the user asks to capture a loopback range, the app's loopback traffic must reach the redirect.
  const keepAppLoopback = includeRanges !== '*' && includeRanges.some(isLoopbackRange);
  const notToSelfPorts = config.captureDns ? [DNS_PORT, HBONE_PORT] : [HBONE_PORT];
  // Both the UID and the GID are exempt, as Istio does: a proxy helper may run under the group only.
  const owners: Array<['--uid-owner' | '--gid-owner', number]> = [
    ['--uid-owner', config.proxyUid],
    ['--gid-owner', config.proxyGid],
  ];
  for (const [flag, id] of owners) {
    // Proxy → a non-127.0.0.1 address over lo (its own pod IP): that is inbound traffic to this pod.
    nat(CHAIN.output, '-o', 'lo', '!', '-d', fam.loopback, '-p', 'tcp', ...portMatch(notToSelfPorts, true)[0], '-m', 'owner', flag, String(id), '-j', CHAIN.inRedirect);
    // App → anything over lo stays local (but its DNS queries still go to the DNS proxy).
    if (!keepAppLoopback) {
      nat(CHAIN.output, '-o', 'lo', ...(config.captureDns ? ['-p', 'tcp', '!', '--dport', String(DNS_PORT)] : []), '-m', 'owner', '!', flag, String(id), '-j', 'RETURN');
    }
    nat(CHAIN.output, '-m', 'owner', flag, String(id), '-j', 'RETURN');
  }

  if (config.captureDns) {
    natChains.push(CHAIN.outputDns);
    rawChains.push(CHAIN.outputDns, CHAIN.inbound);
    const servers = forFamily(config.dnsServers, family);
    const targets: string[][] = servers.length > 0 ? servers.map((s) => ['-d', s]) : [[]];
    nat(CHAIN.output, '-j', CHAIN.outputDns);
    for (const d of targets) nat(CHAIN.outputDns, '-p', 'tcp', '--dport', String(DNS_PORT), ...d, '-j', 'REDIRECT', '--to-ports', String(config.dnsPort));
    for (const [flag, id] of owners) nat(CHAIN.outputDns, '-p', 'udp', '--dport', String(DNS_PORT), '-m', 'owner', flag, String(id), '-j', 'RETURN');
    for (const d of targets) nat(CHAIN.outputDns, '-p', 'udp', '--dport', String(DNS_PORT), ...d, '-j', 'REDIRECT', '--to-ports', String(config.dnsPort));

    // Conntrack zones, as Istio does: the app↔DNS-proxy flows (zone 2) and the proxy↔upstream flows
    // (zone 1) can share the same 5-tuple after NAT; separate zones keep UDP replies from being
    // matched to the wrong entry.
    raw('OUTPUT', '-j', CHAIN.outputDns);
    for (const [flag, id] of owners) {
      raw(CHAIN.outputDns, '-p', 'udp', '--dport', String(DNS_PORT), '-m', 'owner', flag, String(id), '-j', 'CT', '--zone', '1');
      raw(CHAIN.outputDns, '-p', 'udp', '--sport', String(config.dnsPort), '-m', 'owner', flag, String(id), '-j', 'CT', '--zone', '2');
    }
    raw('PREROUTING', '-j', CHAIN.inbound);
    for (const d of targets) raw(CHAIN.outputDns, '-p', 'udp', '--dport', String(DNS_PORT), ...d, '-j', 'CT', '--zone', '2');
    for (const d of targets) {
      const s = d.length ? ['-s', d[1]] : [];
      raw(CHAIN.inbound, '-p', 'udp', '--sport', String(DNS_PORT), ...s, '-j', 'CT', '--zone', '1');
    }
  }

  nat(CHAIN.output, '-d', fam.loopback, '-j', 'RETURN');

  for (const cidr of forFamily(config.excludeOutboundIPRanges, family)) nat(CHAIN.output, '-d', cidr, '-j', 'RETURN');
  for (const m of config.includeOutboundPorts.length ? portMatch(config.includeOutboundPorts) : []) {
    nat(CHAIN.output, '-p', 'tcp', ...m, '-j', CHAIN.redirect);
  }
  if (includeRanges === '*') {
    nat(CHAIN.output, '-j', CHAIN.redirect);
  } else if (includeRanges.length > 0) {
    for (const cidr of includeRanges) nat(CHAIN.output, '-d', cidr, '-j', CHAIN.redirect);
    nat(CHAIN.output, '-j', 'RETURN');
  }

  return { family, chains: { nat: natChains, raw: rawChains }, rules };
}
