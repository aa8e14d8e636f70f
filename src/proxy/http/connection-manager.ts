/**
 * The http_connection_manager network filter: compiles HttpConnectionManager config once per filter
 * chain and, per connection, picks the codec (HTTP/2 when ALPN says h2, when the codec is forced,
 * or when the client opens with the HTTP/2 preface; HTTP/1.1 otherwise). Import this module for its
 * side effect of registering the filter.
 */
import type { Socket } from 'node:net';
import type { JsonObject } from '../config/fields.js';
import type { ProxyContext } from '../context.js';
import { registerNetworkFilter, type DownstreamConnection, type NetworkFilter } from '../listener/connection.js';
import { compileHcm, type HcmConfig } from './hcm-config.js';
import { H1ServerConnection, type ConnectionOwner } from './h1-server.js';
import { H2Downstream } from './h2-server.js';

export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export class HttpConnectionManager implements NetworkFilter, ConnectionOwner {
  draining = false;
  private h2: H2Downstream | undefined;
  private readonly h1Connections = new Set<{ drain(): void }>();

  constructor(readonly config: HcmConfig) {}

  onNewConnection(conn: DownstreamConnection): boolean {
    const stats = this.config.stats;
    stats.downstream_cx_total.inc();
    stats.downstream_cx_active.inc();
    const socket = conn.socket;
    const codec = this.config.codecType;
    if (codec === 'HTTP2' || (codec === 'AUTO' && conn.alpn?.[0] === 'h2' && conn.transportProtocol === 'tls')) {
      this.startH2(conn, conn.initialData);
      return true;
    }
    if (codec === 'HTTP1') {
      this.startH1(conn, conn.initialData);
      return true;
    }
    const initial = conn.initialData;
    if (initial && initial.length >= H2_PREFACE.length) {
      if (initial.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) this.startH2(conn, initial);
      else this.startH1(conn, initial);
      return true;
    }
    // Sniff the first bytes for the HTTP/2 connection preface (h2c with prior knowledge).
    let seen: Buffer = initial ?? Buffer.alloc(0);
    const onData = (d: Buffer) => {
      seen = seen.length ? Buffer.concat([seen, d]) : d;
      const n = Math.min(seen.length, H2_PREFACE.length);
      const isH2Prefix = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2Prefix && seen.length < H2_PREFACE.length) return;
      socket.removeListener('data', onData);
      socket.removeListener('close', onEarlyClose);
      socket.pause();
      if (isH2Prefix) this.startH2(conn, seen);
      else this.startH1(conn, seen);
    };
    const onEarlyClose = () => {
      socket.removeListener('data', onData);
      stats.downstream_cx_active.dec();
      stats.downstream_cx_destroy.inc();
    };
    socket.on('data', onData);
    socket.on('close', onEarlyClose);
    socket.on('error', () => undefined);
    return true;
  }

  private startH1(conn: DownstreamConnection, initial: Buffer | undefined): void {
    this.config.stats.downstream_cx_http1_total.inc();
    const c = new H1ServerConnection(this.config, conn, conn.socket, this, initial);
    this.h1Connections.add(c);
    if ((conn.socket as Socket).isPaused()) conn.socket.resume();
  }

  private startH2(conn: DownstreamConnection, initial: Buffer | undefined): void {
    this.config.stats.downstream_cx_http2_total.inc();
    this.h2 ??= new H2Downstream(this.config);
    const stats = this.config.stats;
    this.h2.accept(conn, conn.socket, initial, () => {
      stats.downstream_cx_active.dec();
      stats.downstream_cx_destroy.inc();
    });
    conn.socket.resume();
  }

  onConnectionClosed(c: { drain(): void }): void {
    if (this.h1Connections.delete(c)) {
      this.config.stats.downstream_cx_active.dec();
      this.config.stats.downstream_cx_destroy.inc();
    }
  }

  drain(): void {
    this.draining = true;
    for (const c of [...this.h1Connections]) c.drain();
    this.h2?.drain();
  }
}

registerNetworkFilter(HCM_TYPE, (typed: JsonObject, ctx: ProxyContext, path: string) => new HttpConnectionManager(compileHcm(typed, ctx, path)));
