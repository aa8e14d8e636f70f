/**
 * The ADS server: one gRPC bidi stream per proxy carries every resource type. It keeps the connected
 * proxies, asks the pluggable generator for content, and pushes changes debounced and in
 * make-before-break order (clusters and endpoints before the listeners and routes that use them). The
 * per-stream protocol lives in sotw-stream.ts (state of the world) and delta-stream.ts (incremental).
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { SailfinError, errorMessage } from '../common/errors.js';
import { adsServiceDefinition, type DiscoveryRequest, type DiscoveryResponse } from './ads-service.js';
import { serveDeltaStream, type DeltaCall } from './delta-stream.js';
import { toEnvoyJson, type EnvoyJson, type JsonObject } from './envoy-json.js';
import type { ConnectedProxy, PushRequest, XdsGenerator } from './generator.js';
import { XdsMetrics } from './metrics.js';
import { ProxyConnection, isWildcardCapable, type NackRecord } from './proxy-connection.js';
import { PushDebouncer, type DebounceOptions, type MergedPush } from './push-debouncer.js';
import { TypeUrl, shortTypeName, type XdsTypeUrl } from './protos.js';
import { PushRound } from './push-round.js';
import { encodeResource } from './resource-encoder.js';
import { serveSotwStream } from './sotw-stream.js';
import { WriteBudget, writeBudgetBytes } from './write-budget.js';
import type { GeneratedSet, StreamHost } from './stream-host.js';

/** Make-before-break: a listener or route never arrives before the cluster it points at. */
export const PUSH_ORDER: readonly XdsTypeUrl[] = [
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
  TypeUrl.Secret,
];
const KNOWN_TYPES: ReadonlySet<string> = new Set<string>(PUSH_ORDER);
/** A type that must be resent whenever the type it depends on was sent in a push. */
const DEPENDS_ON: Partial<Record<XdsTypeUrl, XdsTypeUrl>> = {
  [TypeUrl.ClusterLoadAssignment]: TypeUrl.Cluster,
  [TypeUrl.RouteConfiguration]: TypeUrl.Listener,
};

export interface AdsServerOptions {
  generator: XdsGenerator;
  /** Default 0.0.0.0. */
  host?: string;
  /** Default 15010 (Istio's plaintext xDS port); 0 picks a free port. */
  port?: number;
  logger?: Logger;
  debounce?: Partial<DebounceOptions>;
  /** Sent as control_plane.identifier in every response. */
  controlPlaneId?: string;
}

export interface AdsServerEvents {
  connect: [proxy: ConnectedProxy];
  disconnect: [proxy: ConnectedProxy];
  ack: [proxy: ConnectedProxy, typeUrl: XdsTypeUrl, version: string];
  nack: [proxy: ConnectedProxy, typeUrl: XdsTypeUrl, nack: NackRecord];
  /** A debounced push finished writing to every affected proxy. */
  /** `serialized`: distinct responses serialized, and how many more streams were written those same bytes. */
  pushed: [info: { version: string; reasons: string[]; proxies: number; responses: number; ms: number; serialized: { built: number; reused: number } }];
}

export class AdsServer extends EventEmitter<AdsServerEvents> implements StreamHost {
  readonly metrics = new XdsMetrics();
  readonly logger: Logger;
  private readonly grpcServer = new grpc.Server({ 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
  private readonly connectionsById = new Map<string, ProxyConnection>();
  private readonly debouncer: PushDebouncer;
  private readonly generator: XdsGenerator;
  private readonly versionPrefix = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  private readonly noncePrefix = randomBytes(3).toString('hex');
  /** Response bytes written but not yet taken by proxies, capped (memory stays flat when hundreds connect). */
  readonly writeBudget = new WriteBudget(writeBudgetBytes());
  private pushCounter = 0;
  private nonceCounter = 0;
  private boundPort: number | undefined;

  constructor(private readonly options: AdsServerOptions) {
    super();
    this.generator = options.generator;
    this.logger = options.logger ?? pino({ name: 'xds', level: process.env.SAILFIN_LOG_LEVEL ?? 'info' });
    this.debouncer = new PushDebouncer(
      { quietMs: options.debounce?.quietMs ?? 100, maxDelayMs: options.debounce?.maxDelayMs ?? 1000 },
      (push) => void this.flush(push),
    );
    this.grpcServer.addService(adsServiceDefinition(), {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) =>
        serveSotwStream(this, KNOWN_TYPES, call),
      DeltaAggregatedResources: (call: DeltaCall) => serveDeltaStream(this, KNOWN_TYPES, call),
    });
  }

  /** Bind and serve; resolves with the bound port. */
  async start(): Promise<number> {
    const host = this.options.host ?? '0.0.0.0';
    const port = this.options.port ?? 15010;
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.grpcServer.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => {
        if (err) reject(new SailfinError('runtime', `xDS server cannot listen on ${address}: ${err.message}`, { cause: err }));
        else resolve(bound);
      });
    });
    this.logger.info({ port: this.boundPort }, 'xds: ADS server listening');
    return this.boundPort;
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  get ready(): boolean {
    return this.boundPort !== undefined;
  }

  /** Stop accepting, end every stream (proxies keep their config and reconnect elsewhere or later). */
  async close(): Promise<void> {
    this.debouncer.close();
    for (const conn of this.connectionsById.values()) conn.closed = true;
    this.grpcServer.forceShutdown();
    this.boundPort = undefined;
  }

  /** Ask for a push; bursts are coalesced (see PushDebouncer). */
  push(request: PushRequest): void {
    this.metrics.debouncedRequests++;
    this.debouncer.request(request);
  }

  /** Send whatever is pending now instead of after the quiet period. */
  flushPending(): void {
    this.debouncer.fire();
  }

  connections(): ProxyConnection[] {
    return [...this.connectionsById.values()];
  }

  /**
   * The newest stream of a proxy (one that reconnected may briefly have two), by its full node id or, as
   * istioctl names proxies, by the `pod.namespace` part of an Istio node id (`sidecar~IP~pod.ns~domain`).
   */
  connectionFor(proxyId: string): ProxyConnection | undefined {
    let found: ProxyConnection | undefined;
    for (const conn of this.connectionsById.values()) {
      if (conn.id === proxyId && (!found || conn.connectedAt >= found.connectedAt)) found = conn;
    }
    if (found) return found;
    for (const conn of this.connectionsById.values()) {
      const parts = conn.id.split('~');
      if (parts.length === 4 && parts[2] === proxyId && (!found || conn.connectedAt >= found.connectedAt)) found = conn;
    }
    return found;
  }

  // ───────────── StreamHost: what the protocol handlers call ─────────────

  accept(rawNode: object | null | undefined, refuse: (details: string) => void): ProxyConnection | undefined {
    let node: EnvoyJson;
    try {
      node = rawNode ? toEnvoyJson('envoy.config.core.v3.Node', rawNode) : {};
    } catch (err) {
      node = {};
      this.logger.warn({ err: errorMessage(err) }, 'xds: cannot read node');
    }
    const id = typeof node.id === 'string' ? node.id : '';
    if (!id) {
      refuse('the first DiscoveryRequest must carry node.id');
      return undefined;
    }
    const metadata = (node.metadata && typeof node.metadata === 'object' && !Array.isArray(node.metadata) ? node.metadata : {}) as JsonObject;
    const conn = new ProxyConnection(id, node, metadata, this.logger);
    this.connectionsById.set(conn.connectionId, conn);
    this.metrics.connected = this.connectionsById.size;
    this.logger.info({ proxy: id, connection: conn.connectionId }, 'xds: proxy connected');
    this.emit('connect', conn);
    return conn;
  }

  release(conn: ProxyConnection, why: string): void {
    conn.closed = true;
    for (const r of [...conn.pendingWrites]) r();
    if (!this.connectionsById.has(conn.connectionId)) return;
    this.connectionsById.delete(conn.connectionId);
    this.metrics.connected = this.connectionsById.size;
    this.logger.info({ proxy: conn.id, connection: conn.connectionId, why }, 'xds: proxy disconnected');
    this.emit('disconnect', conn);
  }

  async generate(conn: ProxyConnection, type: XdsTypeUrl): Promise<GeneratedSet | undefined> {
    const watch = conn.watches.get(type);
    if (!watch) return undefined;
    const wildcard = watch.names.length === 0 && isWildcardCapable(type);
    let generated;
    try {
      generated = await this.generator.generate(conn, type, watch.names);
    } catch (err) {
      this.metrics.generateErrors.inc(shortTypeName(type).toLowerCase());
      this.logger.error({ proxy: conn.id, type: shortTypeName(type), err: errorMessage(err) }, 'xds: generator failed; nothing sent');
      return undefined;
    }
    const wanted = wildcard ? undefined : (watch.nameSet ??= new Set(watch.names));
    const out: GeneratedSet = new Map();
    // Order is the generator's: xDS does not care, and changes are found by name.
    for (const { name, resource } of generated) {
      if (wanted && !wanted.has(name)) continue;
      if (out.has(name)) {
        this.logger.error({ proxy: conn.id, type: shortTypeName(type), name }, 'xds: generator returned a name twice; the first is kept');
        continue;
      }
      try {
        out.set(name, encodeResource(type, resource));
      } catch (err) {
        this.metrics.generateErrors.inc(shortTypeName(type).toLowerCase());
        this.logger.error({ proxy: conn.id, type: shortTypeName(type), name, err: errorMessage(err) }, 'xds: generated resource does not encode; left out');
      }
    }
    return out;
  }

  version(): string {
    return `${this.versionPrefix}/${this.pushCounter}`;
  }

  nonce(): string {
    return `${this.noncePrefix}-${(++this.nonceCounter).toString(36)}`;
  }

  controlPlaneId(): string {
    return this.options.controlPlaneId ?? 'sailfin';
  }

  async acquireWrite(conn: ProxyConnection, bytes: number): Promise<() => void> {
    const release = await this.writeBudget.acquire(bytes);
    const once = () => {
      conn.pendingWrites.delete(once);
      release();
    };
    if (conn.closed) {
      release();
      return () => undefined;
    }
    conn.pendingWrites.add(once);
    return once;
  }

  recordSent(conn: ProxyConnection, type: XdsTypeUrl, resources: number): void {
    this.metrics.countPush(type);
    this.logger.debug({ proxy: conn.id, type: shortTypeName(type), version: this.version(), resources }, 'xds: sent');
  }

  recordAck(conn: ProxyConnection, type: XdsTypeUrl, version: string): void {
    const watch = conn.watches.get(type);
    if (!watch) return;
    watch.ackedVersion = version;
    watch.ackedAt = new Date();
    this.emit('ack', conn, type, version);
  }

  recordNack(conn: ProxyConnection, type: XdsTypeUrl, nack: NackRecord, rejectedVersion: string | undefined): void {
    const watch = conn.watches.get(type);
    if (watch) watch.lastNack = nack;
    this.metrics.countReject(type);
    this.logger.warn(
      { proxy: conn.id, type: shortTypeName(type), rejectedVersion, keeps: nack.version, error: nack.message },
      'xds: proxy rejected config (NACK)',
    );
    this.emit('nack', conn, type, nack);
  }

  // ───────────── pushes ─────────────

  private async flush(push: MergedPush): Promise<void> {
    const started = Date.now();
    this.pushCounter++;
    const version = this.version();
    for (const reason of push.reasons) this.metrics.pushTriggers.inc(reason);
    const targets = this.connections().filter((c) => !push.proxies || push.proxies(c));
    const round = new PushRound(() => this.nonce());
    let responses = 0;
    await Promise.all(
      targets.map((conn) =>
        conn.enqueue(async () => {
          const sender = conn.sender;
          if (!sender) return;
          const sent = new Set<XdsTypeUrl>();
          for (const type of PUSH_ORDER) {
            const dependent = DEPENDS_ON[type];
            // Envoy re-warms a changed cluster (listener) and waits for its endpoints (routes), even when
            // those did not change: send them along, as Istio's full pushes do.
            const follow = dependent !== undefined && sent.has(dependent);
            if (!follow && push.types && !push.types.has(type)) continue;
            if (await sender(type, follow, round)) {
              sent.add(type);
              responses++;
            }
          }
        }),
      ),
    );
    this.metrics.lastPushMs = Date.now() - started;
    this.logger.debug({ version, reasons: push.reasons, proxies: targets.length, responses, serialized: round.stats }, 'xds: push done');
    this.emit('pushed', { version, reasons: push.reasons, proxies: targets.length, responses, ms: this.metrics.lastPushMs, serialized: { ...round.stats } });
  }
}
