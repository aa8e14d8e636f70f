/**
 * `sailfin iptables`: install the sidecar's traffic-capture rules in the current network namespace,
 * taking istio-iptables' flags so an injected pod's init container reads the same either way. The local
 * mesh applies the same rules itself (src/runtime/iptables.ts); this command exists for Kubernetes, and
 * for looking at the rules (`--dry-run`).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SailfinError } from '../common/errors.js';
import { parseCidrList, parsePortList, parsePortSelection, parseRangeSelection } from '../runtime/capture-annotations.js';
import { buildCaptureRules, DEFAULT_CAPTURE_CONFIG, PROXY_INBOUND_EXCLUDED_PORTS, type CaptureConfig, type IpFamily } from '../runtime/capture-rules.js';
import { applyCaptureRules, removeCaptureRules, renderRestore } from '../runtime/iptables.js';

interface IptablesFlags {
  envoyPort: string;
  inboundCapturePort: string;
  proxyUid: string;
  proxyGid: string;
  inboundPorts: string;
  localExcludePorts?: string;
  localOutboundPortsExclude: string;
  outboundPorts: string;
  outboundIpRanges: string;
  outboundIpRangesExclude: string;
  redirectDns?: boolean;
  captureAllDns?: boolean;
  dnsPort: string;
  ipv6?: boolean;
  netns?: string;
  dryRun?: boolean;
  cleanup?: boolean;
}

function parseId(value: string, flag: string, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > max) throw new SailfinError('schema', `"${value}" is not a number from 0 to ${max}`, { field: flag });
  return n;
}

function parsePort(value: string, flag: string): number {
  const [port] = parsePortList(value, flag);
  if (port === undefined || value.includes(',')) throw new SailfinError('schema', `"${value}" is not one port number`, { field: flag });
  return port;
}

/** The nameservers of /etc/resolv.conf: Istio captures only DNS sent to them unless told otherwise. */
function resolvConfNameservers(path = '/etc/resolv.conf'): string[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const servers = text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
    .filter((s): s is string => !!s);
  return parseCidrList(servers.join(','), path);
}

/** The capture config the flags describe (exported for tests). */
export function captureConfigFromFlags(f: IptablesFlags): CaptureConfig {
  const captureDns = !!f.redirectDns;
  return {
    ...DEFAULT_CAPTURE_CONFIG,
    outboundPort: parsePort(f.envoyPort, '--envoy-port (-p)'),
    inboundPort: parsePort(f.inboundCapturePort, '--inbound-capture-port (-z)'),
    proxyUid: parseId(f.proxyUid, '--proxy-uid (-u)', 2 ** 32 - 2),
    proxyGid: parseId(f.proxyGid, '--proxy-gid (-g)', 2 ** 32 - 2),
    includeInboundPorts: parsePortSelection(f.inboundPorts, '--inbound-ports (-b)'),
    excludeInboundPorts:
      f.localExcludePorts === undefined ? [...PROXY_INBOUND_EXCLUDED_PORTS] : parsePortList(f.localExcludePorts, '--local-exclude-ports (-d)'),
    excludeOutboundPorts: parsePortList(f.localOutboundPortsExclude, '--local-outbound-ports-exclude (-o)'),
    includeOutboundPorts: parsePortList(f.outboundPorts, '--outbound-ports (-q)'),
    includeOutboundIPRanges: parseRangeSelection(f.outboundIpRanges, '--outbound-ip-ranges (-i)'),
    excludeOutboundIPRanges: parseCidrList(f.outboundIpRangesExclude, '--outbound-ip-ranges-exclude (-x)'),
    captureDns,
    dnsPort: parsePort(f.dnsPort, '--dns-port'),
    dnsServers: captureDns && !f.captureAllDns ? resolvConfNameservers() : [],
  };
}

async function runIptables(f: IptablesFlags): Promise<void> {
  const families: IpFamily[] = f.ipv6 ? [4, 6] : [4];
  const target = { netns: f.netns };
  if (f.cleanup) {
    for (const family of families) {
      const removed = await removeCaptureRules(family, target);
      process.stdout.write(`IPv${family}: ${removed ? "removed Sailfin's capture chains" : 'no Sailfin capture chains found'}\n`);
    }
    return;
  }
  const config = captureConfigFromFlags(f);
  for (const family of families) {
    const set = buildCaptureRules(config, family);
    if (f.dryRun) {
      process.stdout.write(`# IPv${family} (${family === 6 ? 'ip6tables' : 'iptables'}-restore --noflush)\n${renderRestore(set)}`);
    } else {
      await applyCaptureRules(set, target);
    }
  }
  if (!f.dryRun) {
    process.stdout.write(
      `capture rules applied: outbound TCP -> ${config.outboundPort}, inbound TCP -> ${config.inboundPort}` +
        `, UID ${config.proxyUid}/GID ${config.proxyGid} exempt${config.captureDns ? `, DNS -> ${config.dnsPort}` : ''}\n`,
    );
  }
}

export function register(program: Command): void {
  program
    .command('iptables')
    .description("install the sidecar's traffic-capture rules in this network namespace (istio-iptables' flags)")
    .option('-p, --envoy-port <port>', 'port outbound TCP is redirected to', '15001')
    .option('-z, --inbound-capture-port <port>', 'port inbound TCP is redirected to', '15006')
    .option('-u, --proxy-uid <uid>', 'UID whose traffic is never captured (the proxy)', '1337')
    .option('-g, --proxy-gid <gid>', 'GID whose traffic is never captured', '1337')
    .option('-b, --inbound-ports <ports>', "inbound ports to capture, or '*' for all", '*')
    .option('-d, --local-exclude-ports <ports>', "inbound ports left alone when -b is '*'", PROXY_INBOUND_EXCLUDED_PORTS.join(','))
    .option('-o, --local-outbound-ports-exclude <ports>', 'outbound ports never captured', '')
    .option('-q, --outbound-ports <ports>', 'outbound ports always captured, whatever -i says', '')
    .option('-i, --outbound-ip-ranges <cidrs>', "outbound destinations to capture, or '*' for all", '*')
    .option('-x, --outbound-ip-ranges-exclude <cidrs>', 'outbound destinations never captured', '')
    .option('--redirect-dns', "redirect the app's DNS queries (UDP and TCP port 53) to the DNS proxy")
    .option('--capture-all-dns', 'with --redirect-dns: capture queries to any server, not only /etc/resolv.conf nameservers')
    .option('--dns-port <port>', 'port of the DNS proxy', '15053')
    .option('--ipv6', 'also install the IPv6 rules (ip6tables)')
    .option('--netns <name>', 'act in this named network namespace instead of the current one')
    .option('--dry-run', 'print the rules in iptables-save format and change nothing')
    .option('--cleanup', "remove Sailfin's capture chains (and the jumps into them), nothing else")
    .action((flags: IptablesFlags) => runIptables(flags));
}
