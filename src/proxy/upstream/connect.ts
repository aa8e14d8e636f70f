/**
 * Opening one upstream connection: TCP (or TLS through the host's transport socket) with the
 * cluster's connect timeout, keepalive, connection accounting (circuit-breaker resource, host and
 * cluster gauges, cx stats) for the socket's whole life, and outlier reports for failures.
 * This runs once per connection, not per request.
 */
import { type OnReadOpts, type Socket, connect as netConnect } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { ConnectFailure, ConnectResult, OutlierResult, StaticReadOptions } from './api.js';
import type { ClusterStatsImpl } from './cluster-stats.js';
import type { HostImpl } from './host.js';
import type { ResourceImpl } from './resource-manager.js';
import { type UpstreamTls, peerUriOf } from './upstream-tls.js';

export class UpstreamConnectError extends Error implements ConnectFailure {
  constructor(
    readonly failure: ConnectFailure['failure'],
    readonly transportFailureReason: string,
  ) {
    super(transportFailureReason);
    this.name = 'UpstreamConnectError';
  }
}

export interface ConnectOptions {
  host: HostImpl;
  timeoutMs: number;
  keepaliveSeconds?: number;
  /** Local address to connect from (upstream_bind_config). */
  sourceAddress?: string;
  tls?: UpstreamTls;
  alpn: readonly string[] | undefined;
  /** The cluster's configured upstream protocol, so an HTTP/1.1 cluster never negotiates h2. */
  protocol?: 'http1' | 'http2' | 'use_downstream';
  stats: ClusterStatsImpl;
  connections: ResourceImpl;
  report: (host: HostImpl, result: OutlierResult) => void;
  /** Read plain TCP sockets into this static buffer (see StaticReadOptions); ignored for TLS. */
  onread?: StaticReadOptions;
}

export function openConnection(o: ConnectOptions, cb: (err: Error | null, result?: ConnectResult) => void): void {
  const { host, stats } = o;
  const started = performance.now();
  let settled = false;
  let socket: Socket | TLSSocket;

  const fail = (err: UpstreamConnectError): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    stats.upstream_cx_connect_fail.inc();
    host.cxConnectFail++;
    if (err.failure === 'timeout') stats.upstream_cx_connect_timeout.inc();
    if (err.failure === 'tls') stats.ssl_connection_error.inc();
    o.report(host, { kind: err.failure === 'timeout' ? 'timeout' : 'connect_failed' });
    socket.destroy();
    cb(err);
  };

  let secureContext;
  if (o.tls) {
    secureContext = o.tls.secureContext();
    if (typeof secureContext === 'string') {
      // No socket was opened, so nothing is counted as a connection.
      stats.ssl_connection_error.inc();
      cb(new UpstreamConnectError('tls', secureContext));
      return;
    }
  }

  o.connections.inc();
  host.activeConnections++;
  host.cxTotal++;
  stats.upstream_cx_total.inc();
  stats.upstream_cx_active.inc();

  if (o.tls && secureContext) {
    const alpn = o.tls.alpnFor(o.alpn, o.protocol);
    socket = tlsConnect({
      host: host.address,
      port: host.port,
      ...(o.sourceAddress ? { localAddress: o.sourceAddress } : {}),
      servername: o.tls.serverName(),
      secureContext,
      ALPNProtocols: alpn,
      rejectUnauthorized: o.tls.verifyPeer,
      // Envoy checks SANs only against the configured matchers, never against the SNI/hostname.
      checkServerIdentity: () => undefined,
    });
  } else {
    socket = netConnect({ host: host.address, port: host.port, localAddress: o.sourceAddress, ...(o.onread ? { onread: o.onread } : {}) });
  }

  const timer = setTimeout(() => fail(new UpstreamConnectError('timeout', 'connection timeout')), o.timeoutMs);

  socket.once('close', () => {
    o.connections.dec();
    host.activeConnections--;
    stats.upstream_cx_active.dec();
    stats.upstream_cx_destroy.inc();
    stats.upstream_cx_length_ms.record(performance.now() - started);
  });
  socket.on('error', onError);
  function onError(err: NodeJS.ErrnoException): void {
    if (settled) return;
    const isTls = o.tls !== undefined && (err.code?.startsWith('ERR_SSL') || err.code?.startsWith('ERR_TLS') || /certificate|SSL|TLS/i.test(err.message));
    fail(new UpstreamConnectError(isTls ? 'tls' : 'connection_failure', isTls ? `TLS error: ${err.message}` : describeSocketError(err)));
  }

  socket.once(o.tls ? 'secureConnect' : 'connect', () => {
    if (settled) return;
    let alpn: string | undefined;
    let peerUri: string | undefined;
    if (o.tls) {
      const tlsSocket = socket as TLSSocket;
      const cert = tlsSocket.getPeerCertificate();
      const sanError = o.tls.verifySan(cert);
      if (sanError) {
        stats.ssl_fail_verify_san.inc();
        fail(new UpstreamConnectError('tls', sanError));
        return;
      }
      stats.ssl_handshake.inc();
      alpn = tlsSocket.alpnProtocol || undefined;
      peerUri = peerUriOf(cert);
    }
    settled = true;
    clearTimeout(timer);
    // Later errors belong to whoever owns the socket now; keep a no-op so none goes unhandled.
    socket.removeListener('error', onError);
    socket.on('error', ignore);
    socket.setNoDelay(true);
    if (o.keepaliveSeconds !== undefined) socket.setKeepAlive(true, o.keepaliveSeconds * 1000);
    stats.upstream_cx_connect_ms.record(performance.now() - started);
    cb(null, { socket, alpn, peerUri, localAddress: socket.localAddress, staticReads: !o.tls && o.onread !== undefined });
  });
}

function ignore(): void {}

/** Envoy-like transport failure text, e.g. "delayed connect error: 111" for a refused connection. */
function describeSocketError(err: NodeJS.ErrnoException): string {
  const errno = typeof err.errno === 'number' ? Math.abs(err.errno) : undefined;
  if (err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return `delayed connect error: ${errno ?? err.code}`;
  return `remote connection failure: ${err.code ?? err.message}`;
}
