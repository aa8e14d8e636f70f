/**
 * What a network filter (http_connection_manager, tcp_proxy, rbac) receives for each accepted
 * downstream connection, after the listener has matched a filter chain and, when the chain has a
 * transport socket, terminated TLS.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ProxyContext } from '../context.js';
import type { JsonObject } from '../config/fields.js';

export interface DownstreamConnection {
  /** The socket to read and write; a TLSSocket when this chain terminates TLS. */
  readonly socket: Socket | TLSSocket;
  /**
   * Bytes the listener filters (TLS/HTTP inspectors) already read from the raw socket and that the
   * filter must process before anything else, or undefined. When TLS is terminated they have
   * already been fed to the TLS layer and this is undefined.
   */
  readonly initialData?: Buffer;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The address the client connected to: the original destination when captured (use_original_dst). */
  readonly localAddress: string;
  readonly localPort: number;
  readonly transportProtocol: 'tls' | 'raw_buffer';
  /** SNI from the ClientHello, when TLS. */
  readonly serverName?: string;
  /** ALPN negotiated downstream (when TLS is terminated here) or offered (when passed through). */
  readonly alpn?: readonly string[];
  /** The peer's SPIFFE URI SAN and certificate digest, when mTLS was terminated here. */
  readonly peerUri?: string;
  readonly peerCertificate?: import('node:tls').PeerCertificate;
  /** This proxy's own URI SAN on the connection, when TLS was terminated here. */
  readonly localUri?: string;
  readonly listenerName: string;
  readonly filterChainName?: string;
  /** per_connection_buffer_limit_bytes of the listener: how much a filter may buffer before pausing reads. */
  readonly bufferLimitBytes?: number;
}

/** A compiled network filter; compiled once per filter chain, called once per connection. */
export interface NetworkFilter {
  /**
   * Handle a new connection. A non-terminal filter (rbac) returns true to let the next filter see
   * the connection, or false after closing it; the terminal filter (http_connection_manager,
   * tcp_proxy) owns the connection from then on and returns true.
   */
  onNewConnection(conn: DownstreamConnection): boolean;
  /** Draining (listener removed or replaced): finish in-flight work, accept no new streams. */
  drain?(): void;
}

/** Compiles one `filters[i]` entry (its typed_config) into a ready-to-run filter. */
export type NetworkFilterFactory = (typedConfig: JsonObject, ctx: ProxyContext, path: string) => NetworkFilter;

const factories = new Map<string, NetworkFilterFactory>();

/** Network filters register themselves by the `@type` of their typed_config. */
export function registerNetworkFilter(typeUrl: string, factory: NetworkFilterFactory): void {
  factories.set(typeUrl, factory);
}

export function networkFilterFactory(typeUrl: string): NetworkFilterFactory | undefined {
  return factories.get(typeUrl);
}
