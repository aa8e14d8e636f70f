/**
 * One running listener: its socket (unless bind_to_port is false), the compiled config new
 * connections use, and the connections of older configs that are draining after an update.
 * The accept path is: (original destination) → listener filters → filter chain → TLS → network filters.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ProxyContext } from '../context.js';
import type { Counter, Gauge } from '../stats/store.js';
import { logAll } from '../stats/access-log.js';
import { addFlag, newStreamInfo } from '../stream-info.js';
import { SailfinError } from '../../common/errors.js';
import { firstUriSan } from '../tls/san-matcher.js';
import { formatAddress, plainIp } from './address.js';
import type { DownstreamConnection } from './connection.js';
import { selectChain } from './filter-chain-match.js';
import { inspect, type Inspection } from './inspect.js';
import { installStaticReadAccept } from './static-reads.js';
import { drainCompiled, type CompiledChain, type CompiledListener } from './listener-config.js';

/** A TLS handshake that has not finished by then is abandoned (a slow or broken client). */
const HANDSHAKE_TIMEOUT_MS = 10_000;

interface ListenerStats {
  cxTotal: Counter;
  cxActive: Gauge;
  cxDestroy: Counter;
  noChain: Counter;
}

export class ActiveListener {
  private server: Server | undefined;
  /** The real port after binding (port 0 in config means "any"). */
  port: number;
  private stats!: ListenerStats;
  /** Every open connection and the config generation it was accepted under. */
  private readonly connections = new Map<Socket, CompiledListener>();
  private readonly drainTimers = new Set<NodeJS.Timeout>();
  lastUpdated = new Date();
  /**
   * Whether new connections may read through a static buffer (static-reads.ts): not when a chain
   * terminates TLS (the TLS layer takes the raw socket over) or when connections are handed to
   * another listener (use_original_dst), whose chains this listener cannot vouch for.
   */
  private plainChains: boolean;
  versionInfo = '';

  constructor(
    public config: CompiledListener,
    private readonly ctx: ProxyContext,
    private readonly drainTimeMs: number,
    private readonly handoff: (socket: Socket, from: ActiveListener) => boolean,
    private readonly lookupDst: (socket: Socket) => { address: string; port: number } | undefined = () => undefined,
  ) {
    this.port = config.address.port;
    this.plainChains = onlyPlainChains(config);
    // A port-0 listener gets its stats names once bound, from the real port.
    if (!config.bindToPort || this.port !== 0) this.setStats();
  }

  get name(): string {
    return this.config.name;
  }

  get address(): string {
    return this.config.address.address;
  }

  private setStats(): void {
    const prefix = `listener.${this.address}_${this.port}.`;
    this.stats = {
      cxTotal: this.ctx.stats.counter(prefix + 'downstream_cx_total'),
      cxActive: this.ctx.stats.gauge(prefix + 'downstream_cx_active'),
      cxDestroy: this.ctx.stats.counter(prefix + 'downstream_cx_destroy'),
      noChain: this.ctx.stats.counter(prefix + 'no_filter_chain_match'),
    };
  }

  /** Binds the socket; rejects with a SailfinError when the address cannot be used. */
  async start(): Promise<void> {
    if (!this.config.bindToPort) return;
    const server = createServer({ pauseOnConnect: false, noDelay: true });
    server.on('connection', (s) => this.onAccept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new SailfinError('runtime', `listener "${this.name}" cannot listen on ${formatAddress(this.address, this.config.address.port)}: ${err.message}`)),
      );
      server.listen({ host: this.address, port: this.config.address.port, backlog: 4096 }, () => resolve());
    });
    server.on('error', (err) => this.ctx.log.error({ err: err.message, listener: this.name }, 'listener socket error'));
    installStaticReadAccept(server, () => this.plainChains);
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    this.setStats();
  }

  /** New connections use `next`; connections of the old config drain. Same address only (the manager checks). */
  replace(next: CompiledListener): void {
    const old = this.config;
    this.config = next;
    this.plainChains = onlyPlainChains(next);
    this.lastUpdated = new Date();
    this.drainGeneration(old);
  }

  /** Stops accepting and drains every connection (listener removed, /drain_listeners, shutdown). */
  stop(drain = true): void {
    this.server?.close();
    this.server = undefined;
    if (drain) this.drainGeneration(this.config);
    else for (const s of [...this.connections.keys()]) s.destroy();
  }

  private drainGeneration(gen: CompiledListener): void {
    drainCompiled(gen);
    const timer = setTimeout(() => {
      this.drainTimers.delete(timer);
      for (const [s, g] of this.connections) if (g === gen) s.destroy();
    }, this.drainTimeMs);
    timer.unref();
    this.drainTimers.add(timer);
  }

  activeConnections(): number {
    return this.connections.size;
  }

  private onAccept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    if (this.config.useOriginalDst && this.handoff(socket, this)) return;
    this.accept(socket, undefined);
  }

  /** Takes a connection, either accepted here or handed over by a use_original_dst listener. */
  accept(socket: Socket, originalDst: { address: string; port: number } | undefined): void {
    const gen = this.config;
    // The original_dst listener filter: chains match on where the client was going (Istio's 15006).
    if (!originalDst && gen.originalDstFilter) originalDst = this.lookupDst(socket);
    this.stats.cxTotal.inc();
    this.stats.cxActive.inc();
    this.connections.set(socket, gen);
    const stats = this.stats;
    socket.once('close', () => {
      this.connections.delete(socket);
      stats.cxActive.dec();
      stats.cxDestroy.inc();
    });
    if (!socket.listenerCount('error')) socket.on('error', () => socket.destroy());
    inspect(
      socket,
      { tls: gen.tlsInspector, http: gen.httpInspector, timeoutMs: gen.listenerFiltersTimeoutMs, continueOnTimeout: gen.continueOnListenerFiltersTimeout },
      (r) => {
        if (r) this.route(socket, gen, r, originalDst);
      },
    );
  }

  private route(socket: Socket, gen: CompiledListener, r: Inspection, dst: { address: string; port: number } | undefined): void {
    const localAddress = dst?.address ?? plainIp(socket.localAddress);
    const localPort = dst?.port ?? socket.localPort ?? 0;
    const remoteAddress = plainIp(socket.remoteAddress);
    const remotePort = socket.remotePort ?? 0;
    const idx = selectChain(gen.matches, {
      localIp: localAddress,
      localPort,
      remoteIp: remoteAddress,
      remotePort,
      serverName: r.serverName,
      transportProtocol: r.transportProtocol,
      applicationProtocols: r.applicationProtocols,
    });
    const chain = idx >= 0 ? gen.chains[idx] : gen.defaultChain;
    if (!chain) {
      this.stats.noChain.inc();
      const info = newStreamInfo();
      addFlag(info, 'NFCF');
      info.downstreamLocalAddress = formatAddress(localAddress, localPort);
      info.downstreamRemoteAddress = formatAddress(remoteAddress, remotePort);
      info.requestedServerName = r.serverName;
      info.listenerName = gen.name;
      info.durationMs = 0;
      logAll(gen.accessLogs, info);
      socket.destroy();
      return;
    }
    const base = {
      remoteAddress,
      remotePort,
      localAddress,
      localPort,
      serverName: r.serverName,
      listenerName: gen.name,
      filterChainName: chain.name,
      bufferLimitBytes: gen.bufferLimitBytes,
    };
    if (!chain.tls) {
      this.runFilters(chain, {
        ...base,
        socket,
        initialData: r.initialData,
        transportProtocol: r.transportProtocol,
        alpn: r.applicationProtocols.length ? r.applicationProtocols : undefined,
      });
      return;
    }
    this.terminateTls(socket, chain, r, base);
  }

  private terminateTls(socket: Socket, chain: CompiledChain, r: Inspection, base: Omit<DownstreamConnection, 'socket' | 'transportProtocol'>): void {
    const tls = chain.tls!;
    if (r.initialData) socket.unshift(r.initialData);
    let tlsSocket: TLSSocket | undefined;
    try {
      tlsSocket = tls.wrap(socket, r.applicationProtocols);
    } catch (err) {
      this.ctx.log.warn({ listener: base.listenerName, err: (err as Error).message }, 'TLS context unusable');
    }
    if (!tlsSocket) {
      // The certificate (e.g. from SDS) has not arrived yet: refuse rather than serve without it.
      socket.destroy();
      return;
    }
    const ts = tlsSocket;
    const timer = setTimeout(() => ts.destroy(), HANDSHAKE_TIMEOUT_MS);
    ts.on('error', () => {
      clearTimeout(timer);
      ts.destroy();
      socket.destroy();
    });
    ts.once('close', () => socket.destroy());
    ts.once('secure', () => {
      clearTimeout(timer);
      const cert = ts.getPeerCertificate();
      const hasCert = !!cert && Object.keys(cert).length > 0;
      // A bare server-side TLSSocket (no tls.Server) does not check the client chain after the
      // handshake; this is the check tls.Server would make.
      const verifyError = (ts as unknown as { _handle?: { verifyError?(): Error | null } })._handle?.verifyError?.();
      const verified = hasCert && !verifyError;
      if (tls.requireClientCert && (!verified || !tls.peerAllowed(cert))) {
        ts.destroy();
        return;
      }
      const alpn = ts.alpnProtocol;
      this.runFilters(chain, {
        ...base,
        socket: ts,
        transportProtocol: 'tls',
        serverName: r.serverName ?? ((ts as unknown as { servername?: string }).servername || undefined),
        alpn: alpn ? [alpn] : undefined,
        peerUri: verified ? firstUriSan(cert) : undefined,
        peerCertificate: verified ? cert : undefined,
        localUri: firstUriSan(ts.getCertificate() as never),
      });
    });
  }

  private runFilters(chain: CompiledChain, conn: DownstreamConnection): void {
    try {
      for (const f of chain.filters) if (!f.onNewConnection(conn)) return;
    } catch (err) {
      this.ctx.log.error({ listener: conn.listenerName, err: (err as Error).message }, 'network filter failed on a new connection');
      conn.socket.destroy();
    }
  }

  close(): void {
    this.stop(false);
    for (const t of this.drainTimers) clearTimeout(t);
    this.drainTimers.clear();
  }
}

/** Exported for its test: which listeners may accept with static reads. */
export function onlyPlainChains(c: Pick<CompiledListener, 'useOriginalDst' | 'chains' | 'defaultChain'>): boolean {
  return !c.useOriginalDst && c.chains.every((ch) => !ch.tls) && !c.defaultChain?.tls;
}
