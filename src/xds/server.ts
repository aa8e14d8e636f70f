/**
 * The ADS server (state of the world): one gRPC bidi stream per proxy carries every resource type. It
 * tracks per stream and type what was asked, sent, acknowledged and rejected (xDS's version/nonce
 * protocol), asks the pluggable generator for content, and pushes changes debounced and in
 * make-before-break order (clusters and endpoints before the listeners and routes that use them).
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { SailfinError, errorMessage } from '../common/errors.js';
import { adsServiceDefinition, type DiscoveryRequest, type DiscoveryResponse } from './ads-service.js';
import { toEnvoyJson, type AnyMessage, type EnvoyJson, type JsonObject } from './envoy-json.js';
import { encodeResource } from './resource-encoder.js';
import type { ConnectedProxy, PushRequest, XdsGenerator } from './generator.js';
import { XdsMetrics } from './metrics.js';
import { ProxyConnection, isWildcardCapable, normalizeNames, type NackRecord } from './proxy-connection.js';
import { PushDebouncer, type DebounceOptions, type MergedPush } from './push-debouncer.js';
import { TypeUrl, shortTypeName, type XdsTypeUrl } from './protos.js';

/** Make-before-break: a listener or route never arrives before the cluster it points at. */
export const PUSH_ORDER: readonly XdsTypeUrl[] = [
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
  TypeUrl.Secret,
];
const KNOWN_TYPES = new Set<string>(PUSH_ORDER);
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
  pushed: [info: { version: string; reasons: string[]; proxies: number; responses: number; ms: number }];
}

export class AdsServer extends EventEmitter<AdsServerEvents> {
  readonly metrics = new XdsMetrics();
  private readonly grpcServer = new grpc.Server({ 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
  private readonly connectionsById = new Map<string, ProxyConnection>();
  /** The stream each connection writes to; pushes start from the connection. */
  private readonly calls = new WeakMap<ProxyConnection, grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>>();
  private readonly debouncer: PushDebouncer;
  private readonly logger: Logger;
  private readonly generator: XdsGenerator;
  private readonly versionPrefix = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  private readonly noncePrefix = randomBytes(3).toString('hex');
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
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => this.onStream(call),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<object, object>) => {
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'Sailfin serves state-of-the-world ADS only' });
      },
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

  /** The newest stream of a node id (a proxy that reconnected may briefly have two). */
  connectionFor(proxyId: string): ProxyConnection | undefined {
    let found: ProxyConnection | undefined;
    for (const conn of this.connectionsById.values()) {
      if (conn.id === proxyId && (!found || conn.connectedAt >= found.connectedAt)) found = conn;
    }
    return found;
  }

  private nextVersion(): string {
    return `${this.versionPrefix}/${this.pushCounter}`;
  }

  private onStream(call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>): void {
    let conn: ProxyConnection | undefined;
    const cleanup = (why: string): void => {
      if (!conn || conn.closed) return;
      conn.closed = true;
      this.connectionsById.delete(conn.connectionId);
      this.metrics.connected = this.connectionsById.size;
      this.logger.info({ proxy: conn.id, connection: conn.connectionId, why }, 'xds: proxy disconnected');
      this.emit('disconnect', conn);
    };
    call.on('data', (req: DiscoveryRequest) => {
      if (!conn) {
        conn = this.accept(call, req);
        if (!conn) return;
      }
      const c = conn;
      void c.enqueue(() => this.onRequest(c, call, req));
    });
    call.on('end', () => {
      cleanup('stream ended');
      call.end();
    });
    call.on('error', (err) => cleanup(errorMessage(err)));
    call.on('cancelled', () => cleanup('cancelled'));
    call.on('close', () => cleanup('closed'));
  }

  /** The first request of a stream must say who is asking. */
  private accept(call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>, req: DiscoveryRequest): ProxyConnection | undefined {
    let node: EnvoyJson;
    try {
      node = req.node ? toEnvoyJson('envoy.config.core.v3.Node', req.node) : {};
    } catch (err) {
      node = {};
      this.logger.warn({ err: errorMessage(err) }, 'xds: cannot read node');
    }
    const id = typeof node.id === 'string' ? node.id : '';
    if (!id) {
      call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'the first DiscoveryRequest must carry node.id' });
      return undefined;
    }
    const metadata = (node.metadata && typeof node.metadata === 'object' && !Array.isArray(node.metadata) ? node.metadata : {}) as JsonObject;
    const conn = new ProxyConnection(id, node, metadata, this.logger);
    this.connectionsById.set(conn.connectionId, conn);
    this.metrics.connected = this.connectionsById.size;
    this.logger.info({ proxy: id, connection: conn.connectionId }, 'xds: proxy connected');
    this.emit('connect', conn);
    this.calls.set(conn, call);
    return conn;
  }

  private async onRequest(
    conn: ProxyConnection,
    call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>,
    req: DiscoveryRequest,
  ): Promise<void> {
    const typeUrl = req.type_url ?? '';
    if (!KNOWN_TYPES.has(typeUrl)) {
      this.logger.debug({ proxy: conn.id, typeUrl }, 'xds: ignoring subscription to a type Sailfin does not serve');
      return;
    }
    const type = typeUrl as XdsTypeUrl;
    const names = normalizeNames(req.resource_names ?? []);
    const nonce = req.response_nonce ?? '';
    const watch = conn.watches.get(type);

    if (!watch) {
      // A new subscription, or a proxy that reconnected (it presents the version it runs): send full state.
      conn.watches.set(type, { typeUrl: type, names, sentResources: new Map(), resumedFrom: req.version_info || undefined });
      if (req.version_info) this.logger.info({ proxy: conn.id, type: shortTypeName(type), version: req.version_info }, 'xds: resubscribed');
      await this.send(conn, call, type, true);
      return;
    }
    if (nonce !== (watch.sentNonce ?? '')) {
      // An answer to a response that was superseded: the proxy will answer the newer one too.
      this.logger.debug({ proxy: conn.id, type: shortTypeName(type), nonce }, 'xds: stale nonce ignored');
      return;
    }
    if (req.error_detail && (req.error_detail.message || req.error_detail.code)) {
      const nack: NackRecord = {
        version: req.version_info ?? '',
        rejectedNonce: nonce,
        message: req.error_detail.message ?? `code ${req.error_detail.code}`,
        at: new Date(),
      };
      watch.lastNack = nack;
      this.metrics.countReject(type);
      this.logger.warn(
        { proxy: conn.id, type: shortTypeName(type), rejectedVersion: watch.sentVersion, keeps: nack.version, error: nack.message },
        'xds: proxy rejected config (NACK)',
      );
      this.emit('nack', conn, type, nack);
    } else {
      watch.ackedVersion = req.version_info ?? '';
      watch.ackedAt = new Date();
      this.emit('ack', conn, type, watch.ackedVersion);
    }
    if (!sameNames(names, watch.names)) {
      watch.names = names;
      watch.nameSet = undefined;
      await this.send(conn, call, type, true);
    }
  }

  /**
   * Generate and write one type for one proxy. Unless `force`, an unchanged result is not sent: a push
   * re-evaluates every affected type but only differences travel.
   */
  private async send(
    conn: ProxyConnection,
    call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>,
    type: XdsTypeUrl,
    force: boolean,
  ): Promise<boolean> {
    const watch = conn.watches.get(type);
    if (!watch || conn.closed) return false;
    const wildcard = watch.names.length === 0 && isWildcardCapable(type);
    if (!wildcard && watch.names.length === 0) return false;
    let generated;
    try {
      generated = await this.generator.generate(conn, type, watch.names);
    } catch (err) {
      this.metrics.generateErrors.inc(shortTypeName(type).toLowerCase());
      this.logger.error({ proxy: conn.id, type: shortTypeName(type), err: errorMessage(err) }, 'xds: generator failed; nothing sent');
      return false;
    }
    const wanted = wildcard ? undefined : (watch.nameSet ??= new Set(watch.names));
    const previous = watch.sentHashes;
    const resources: AnyMessage[] = [];
    const sent = new Map<string, EnvoyJson>();
    const hashes = new Map<string, string>();
    // Order is the generator's: xDS does not care, and comparing by name below needs no sort.
    let changed = force || previous === undefined;
    for (const { name, resource } of generated) {
      if (wanted && !wanted.has(name)) continue;
      if (hashes.has(name)) {
        this.logger.error({ proxy: conn.id, type: shortTypeName(type), name }, 'xds: generator returned a name twice; the first is kept');
        continue;
      }
      let encoded;
      try {
        encoded = encodeResource(type, resource);
      } catch (err) {
        this.metrics.generateErrors.inc(shortTypeName(type).toLowerCase());
        this.logger.error({ proxy: conn.id, type: shortTypeName(type), name, err: errorMessage(err) }, 'xds: generated resource does not encode; left out');
        continue;
      }
      resources.push(encoded.any);
      sent.set(name, resource);
      hashes.set(name, encoded.hash);
      if (!changed && previous!.get(name) !== encoded.hash) changed = true;
    }
    if (!changed && hashes.size === previous!.size) return false;
    const response: DiscoveryResponse = {
      version_info: this.nextVersion(),
      resources,
      type_url: type,
      nonce: `${this.noncePrefix}-${(++this.nonceCounter).toString(36)}`,
      control_plane: { identifier: this.options.controlPlaneId ?? 'sailfin' },
    };
    if (conn.closed) return false;
    call.write(response);
    watch.sentVersion = response.version_info;
    watch.sentNonce = response.nonce;
    watch.sentAt = new Date();
    watch.sentResources = sent;
    watch.sentHashes = hashes;
    this.metrics.countPush(type);
    this.logger.debug({ proxy: conn.id, type: shortTypeName(type), version: response.version_info, resources: resources.length }, 'xds: sent');
    return true;
  }

  private async flush(push: MergedPush): Promise<void> {
    const started = Date.now();
    this.pushCounter++;
    const version = this.nextVersion();
    for (const reason of push.reasons) this.metrics.pushTriggers.inc(reason);
    const targets = this.connections().filter((c) => !push.proxies || push.proxies(c));
    let responses = 0;
    await Promise.all(
      targets.map((conn) =>
        conn.enqueue(async () => {
          const call = this.callOf(conn);
          if (!call) return;
          const sent = new Set<XdsTypeUrl>();
          for (const type of PUSH_ORDER) {
            const dependent = DEPENDS_ON[type];
            // Envoy re-warms a changed cluster (listener) and waits for its endpoints (routes), even when
            // those did not change: send them along, as Istio's full pushes do.
            const follow = dependent !== undefined && sent.has(dependent);
            if (!follow && push.types && !push.types.has(type)) continue;
            if (await this.send(conn, call, type, follow)) {
              sent.add(type);
              responses++;
            }
          }
        }),
      ),
    );
    this.metrics.lastPushMs = Date.now() - started;
    this.logger.debug({ version, reasons: push.reasons, proxies: targets.length, responses }, 'xds: push done');
    this.emit('pushed', { version, reasons: push.reasons, proxies: targets.length, responses, ms: this.metrics.lastPushMs });
  }

  private callOf(conn: ProxyConnection): grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined {
    return this.calls.get(conn);
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
