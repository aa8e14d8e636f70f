/**
 * Envoy's filter-chain selection. Criteria are applied in Envoy's order — destination port,
 * destination IP, server name, transport protocol, application protocols, direct source IP, source
 * type, source IP, source port — and at each step only the most specific matching chains survive; a
 * chain that leaves a criterion empty survives only when no chain matched it specifically.
 */
import { assertKnownFields, configError, isObject, join, optArray, optNumber, optString, type JsonObject } from '../config/fields.js';
import { cidrContains, ipBytes, parseCidr, type Cidr } from './cidr.js';

export interface CompiledChainMatch {
  destinationPort?: number;
  prefixRanges: Cidr[];
  serverNames: string[]; // lower-case; '*.x.com' wildcards
  transportProtocol?: string;
  applicationProtocols: string[];
  directSourcePrefixRanges: Cidr[];
  sourceType: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  sourcePrefixRanges: Cidr[];
  sourcePorts: number[];
}

export interface ConnectionFacts {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  serverName?: string;
  transportProtocol: string;
  applicationProtocols: readonly string[];
}

function cidrs(json: JsonObject, key: string, path: string): Cidr[] {
  return optArray(json, key, path).map((c, i) => {
    const p = join(join(path, key), i);
    if (!isObject(c)) throw configError(p, 'must be an object');
    return parseCidr(c, p);
  });
}

function strings(json: JsonObject, key: string, path: string): string[] {
  return optArray(json, key, path).map((s, i) => {
    if (typeof s !== 'string') throw configError(join(join(path, key), i), 'must be a string');
    return s;
  });
}

export function compileChainMatch(json: JsonObject | undefined, path: string): CompiledChainMatch {
  const m = json ?? {};
  assertKnownFields(m, ['destination_port', 'prefix_ranges', 'server_names', 'transport_protocol', 'application_protocols', 'direct_source_prefix_ranges', 'source_type', 'source_prefix_ranges', 'source_ports'], path);
  const sourceType = optString(m, 'source_type', path) ?? 'ANY';
  if (!['ANY', 'SAME_IP_OR_LOOPBACK', 'EXTERNAL'].includes(sourceType)) throw configError(join(path, 'source_type'), `unsupported value ${JSON.stringify(sourceType)}`);
  const serverNames = strings(m, 'server_names', path).map((s) => s.toLowerCase());
  serverNames.forEach((s, i) => {
    if (s.includes('*') && !(s.startsWith('*.') && !s.slice(1).includes('*'))) throw configError(join(join(path, 'server_names'), i), `"${s}": a wildcard must be a leading "*." label`);
  });
  return {
    destinationPort: optNumber(m, 'destination_port', path, { min: 1, max: 65535, integer: true }),
    prefixRanges: cidrs(m, 'prefix_ranges', path),
    serverNames,
    transportProtocol: optString(m, 'transport_protocol', path),
    applicationProtocols: strings(m, 'application_protocols', path),
    directSourcePrefixRanges: cidrs(m, 'direct_source_prefix_ranges', path),
    sourceType: sourceType as CompiledChainMatch['sourceType'],
    sourcePrefixRanges: cidrs(m, 'source_prefix_ranges', path),
    sourcePorts: optArray(m, 'source_ports', path).map((p) => Number(p)),
  };
}

/** -1: excluded; 0: criterion not set (fallback); >0: matched, higher is more specific. */
type Scorer = (m: CompiledChainMatch, f: ConnectionFacts, ctx: { local?: Uint8Array; remote?: Uint8Array }) => number;

function bestPrefix(ranges: Cidr[], ip: Uint8Array | undefined): number {
  if (ranges.length === 0) return 0;
  let best = -1;
  for (const r of ranges) if (cidrContains(r, ip) && r.prefixLen + 1 > best) best = r.prefixLen + 1;
  return best;
}

function serverNameScore(names: string[], sni: string | undefined): number {
  if (names.length === 0) return 0;
  if (!sni) return -1;
  let best = -1;
  for (const n of names) {
    if (n === sni) return 100000; // exact beats any wildcard
    if (n.startsWith('*.') && sni.endsWith(n.slice(1)) && sni.length > n.length - 1) best = Math.max(best, n.length);
  }
  return best;
}

function isLoopbackOrSame(f: ConnectionFacts): boolean {
  const r = f.remoteIp.startsWith('::ffff:') ? f.remoteIp.slice(7) : f.remoteIp;
  return r === f.localIp || r.startsWith('127.') || r === '::1';
}

const SCORERS: Scorer[] = [
  (m, f) => (m.destinationPort === undefined ? 0 : m.destinationPort === f.localPort ? 1 : -1),
  (m, _f, c) => bestPrefix(m.prefixRanges, c.local),
  (m, f) => serverNameScore(m.serverNames, f.serverName),
  (m, f) => (m.transportProtocol === undefined ? 0 : m.transportProtocol === f.transportProtocol ? 1 : -1),
  (m, f) => (m.applicationProtocols.length === 0 ? 0 : m.applicationProtocols.some((p) => f.applicationProtocols.includes(p)) ? 1 : -1),
  (m, _f, c) => bestPrefix(m.directSourcePrefixRanges, c.remote),
  (m, f) => (m.sourceType === 'ANY' ? 0 : (m.sourceType === 'SAME_IP_OR_LOOPBACK') === isLoopbackOrSame(f) ? 1 : -1),
  (m, _f, c) => bestPrefix(m.sourcePrefixRanges, c.remote),
  (m, f) => (m.sourcePorts.length === 0 ? 0 : m.sourcePorts.includes(f.remotePort) ? 1 : -1),
];

/** Index of the chain for this connection, or -1 (the caller then uses default_filter_chain). */
export function selectChain(matches: readonly CompiledChainMatch[], f: ConnectionFacts): number {
  // The common sidecar/gateway case of one catch-all chain needs no work per connection.
  if (matches.length === 1 && isCatchAll(matches[0])) return 0;
  let candidates: number[] = matches.map((_, i) => i);
  const ctx = { local: ipBytes(f.localIp), remote: ipBytes(f.remoteIp) };
  const scores = new Array<number>(matches.length);
  for (const score of SCORERS) {
    let best = -1;
    for (const i of candidates) {
      scores[i] = score(matches[i], f, ctx);
      if (scores[i] > best) best = scores[i];
    }
    if (best < 0) return -1;
    candidates = candidates.filter((i) => scores[i] === best);
  }
  return candidates.length > 0 ? candidates[0] : -1;
}

function isCatchAll(m: CompiledChainMatch): boolean {
  return (
    m.destinationPort === undefined &&
    m.prefixRanges.length === 0 &&
    m.serverNames.length === 0 &&
    m.transportProtocol === undefined &&
    m.applicationProtocols.length === 0 &&
    m.directSourcePrefixRanges.length === 0 &&
    m.sourceType === 'ANY' &&
    m.sourcePrefixRanges.length === 0 &&
    m.sourcePorts.length === 0
  );
}

/** Whether any chain looks at what the TLS inspector or HTTP inspector find. */
export function needsInspection(matches: readonly CompiledChainMatch[]): boolean {
  return matches.some((m) => m.serverNames.length > 0 || m.transportProtocol !== undefined || m.applicationProtocols.length > 0);
}
