/**
 * What an RBAC rule can look at: the downstream connection (always), the HTTP request (HTTP filter
 * only) and the dynamic metadata earlier filters wrote (jwt_authn's `istio_authn`). The HTTP filter
 * passes the ActiveStream itself as the request, so a check allocates nothing per request.
 */
import type { PeerCertificate } from 'node:tls';
import type { RouteRequest } from '../http/matchers.js';
import { ipBytes } from '../listener/cidr.js';

/** The parts of a DownstreamConnection RBAC reads. */
export interface ConnectionFacts {
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly serverName?: string;
  readonly peerUri?: string;
  readonly peerCertificate?: PeerCertificate;
  readonly transportProtocol: 'tls' | 'raw_buffer';
}

/** Dynamic metadata by filter namespace (e.g. `istio_authn`), as Envoy's StreamInfo keeps it. */
export type DynamicMetadata = Readonly<Record<string, unknown>>;

/** A predicate compiled from one Permission or Principal. */
export type RbacMatcher = (conn: ConnectionFacts, req: RouteRequest | undefined, md: DynamicMetadata | undefined) => boolean;

const addrCache = new WeakMap<ConnectionFacts, { remote?: Uint8Array; local?: Uint8Array }>();

function cached(conn: ConnectionFacts): { remote?: Uint8Array; local?: Uint8Array } {
  let c = addrCache.get(conn);
  if (!c) addrCache.set(conn, (c = {}));
  return c;
}

export function remoteIpBytes(conn: ConnectionFacts): Uint8Array | undefined {
  const c = cached(conn);
  return (c.remote ??= ipBytes(conn.remoteAddress));
}

export function localIpBytes(conn: ConnectionFacts): Uint8Array | undefined {
  const c = cached(conn);
  return (c.local ??= ipBytes(conn.localAddress));
}

/**
 * The client address as the HCM understood it: the last X-Forwarded-For entry when there is one
 * (the HCM appends the peer itself when use_remote_address is set), otherwise the peer.
 */
export function clientIpBytes(conn: ConnectionFacts, req: RouteRequest | undefined): Uint8Array | undefined {
  const xff = req?.headers.getJoined('x-forwarded-for');
  if (!xff) return remoteIpBytes(conn);
  const comma = xff.lastIndexOf(',');
  return ipBytes((comma < 0 ? xff : xff.slice(comma + 1)).trim());
}

export interface PeerNames {
  readonly uris: readonly string[];
  readonly dns: readonly string[];
  readonly subject: string;
}

const peerCache = new WeakMap<object, PeerNames>();

/** URI and DNS SANs and the subject of the mTLS peer, parsed once per certificate; undefined without mTLS. */
export function peerNames(conn: ConnectionFacts): PeerNames | undefined {
  const cert = conn.peerCertificate;
  if (!cert || !cert.raw) {
    if (!conn.peerUri) return undefined;
    let known = peerCache.get(conn);
    if (!known) peerCache.set(conn, (known = { uris: [conn.peerUri], dns: [], subject: '' }));
    return known;
  }
  let names = peerCache.get(cert);
  if (names) return names;
  const uris: string[] = [];
  const dns: string[] = [];
  for (const part of (cert.subjectaltname ?? '').split(', ')) {
    if (part.startsWith('URI:')) uris.push(part.slice(4));
    else if (part.startsWith('DNS:')) dns.push(part.slice(4));
  }
  const subject = Object.entries(cert.subject ?? {})
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .reverse()
    .join(',');
  names = { uris, dns, subject };
  peerCache.set(cert, names);
  return names;
}
