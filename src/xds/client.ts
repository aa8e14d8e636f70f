/**
 * The Sailfin proxy's ADS client (state of the world). It subscribes to all clusters and listeners, lets
 * the proxy add named subscriptions (routes, endpoints, secrets) as its config refers to them, hands each
 * response to the proxy and answers ACK or NACK by what the proxy says. Like Envoy it applies clusters
 * before listeners, keeps the last accepted config while the control plane is away, and reconnects with
 * backoff, presenting the versions it runs.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { errorMessage } from '../common/errors.js';
import { adsCodecs, type DiscoveryRequest, type DiscoveryResponse } from './ads-service.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { encodeEnvoyJson, toEnvoyJson, type EnvoyJson } from './envoy-json.js';
import { JsonInterner } from './json-intern.js';
import { ADS_STREAM_METHOD, TypeUrl, lookupMessageType, shortTypeName, type XdsTypeUrl } from './protos.js';
// pino's own module tree costs every sidecar about 1 MB of resident memory for a logger it never uses:
// the proxy passes its own, and pino's line format is what this one writes too.
import { stderrLogger } from '../proxy/bootstrap/stderr-logger.js';

/** What the proxy implements to receive config. */
export interface XdsClientEvents {
  /**
   * Apply one response: all resources of `typeUrl` the server sent (for LDS/CDS the complete set, so a
   * missing name means removed; for RDS/EDS/SDS the named ones). Throw (ideally a SailfinError) to reject
   * the whole response: the client NACKs with the error's message and the proxy must keep what it had.
   */
  onResources(typeUrl: XdsTypeUrl, resources: ReadonlyMap<string, EnvoyJson>, version: string): void | Promise<void>;
  onConnected?(target: string): void;
  /** The stream is gone; the proxy keeps serving its config while the client reconnects. */
  onDisconnected?(reason: string): void;
}

export interface AdsClientOptions {
  /** host:port of the ADS server (see adsTargetFromBootstrap). */
  target: string;
  /** envoy.config.core.v3.Node in JSON form; must have an id. */
  node: EnvoyJson;
  events: XdsClientEvents;
  logger?: Logger;
  backoff?: Partial<BackoffOptions>;
  /**
   * How long listeners that arrive before this stream's clusters and endpoints are held (default 5 s). A
   * server that never answers CDS (its generator failing, say) must not keep the proxy without listeners.
   */
  listenerHoldMs?: number;
}

export interface SubscriptionStatus {
  typeUrl: XdsTypeUrl;
  names: string[];
  /** Last version the proxy accepted ('' before the first). */
  acceptedVersion: string;
  lastNonce: string;
  lastError?: string;
}

/** The order subscriptions are (re)sent in, so the server answers clusters first. */
const SUBSCRIBE_ORDER: readonly XdsTypeUrl[] = [
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
  TypeUrl.Secret,
];

/** The name of a resource, read where each type keeps it. */
export function resourceName(typeUrl: string, resource: EnvoyJson): string {
  const name = typeUrl === TypeUrl.ClusterLoadAssignment ? resource.cluster_name : resource.name;
  return typeof name === 'string' ? name : '';
}

export class AdsClient {
  private readonly subs = new Map<XdsTypeUrl, SubscriptionStatus>();
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private grpcClient: grpc.Client | undefined;
  private call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  private streamGeneration = 0;
  private sentNode = false;
  private clustersSeenOnStream = false;
  private endpointsSeenOnStream = false;
  /** Set when the hold timer gave up waiting: listeners apply as they come for the rest of the stream. */
  private listenersUnblocked = false;
  private heldListeners: DiscoveryResponse | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private connectedFlag = false;

  constructor(private readonly options: AdsClientOptions) {
    this.logger = options.logger ?? stderrLogger({ name: 'xds-client', level: process.env.SAILFIN_LOG_LEVEL ?? 'info' });
    this.backoff = new Backoff({ initialMs: 200, maxMs: 15_000, ...options.backoff });
    // Everything a proxy needs is reachable from its listeners and clusters; both are wildcard subscriptions.
    this.subs.set(TypeUrl.Cluster, { typeUrl: TypeUrl.Cluster, names: [], acceptedVersion: '', lastNonce: '' });
    this.subs.set(TypeUrl.Listener, { typeUrl: TypeUrl.Listener, names: [], acceptedVersion: '', lastNonce: '' });
  }

  start(): void {
    this.closed = false;
    this.openStream();
  }

  get connected(): boolean {
    return this.connectedFlag;
  }

  /** Replace the names subscribed for a named type (RDS, EDS, SDS). [] unsubscribes. */
  watch(typeUrl: XdsTypeUrl, names: readonly string[]): void {
    const sorted = [...new Set(names)].sort();
    let sub = this.subs.get(typeUrl);
    if (sub && sub.names.length === sorted.length && sub.names.every((n, i) => n === sorted[i])) return;
    if (!sub) {
      sub = { typeUrl, names: sorted, acceptedVersion: '', lastNonce: '' };
      this.subs.set(typeUrl, sub);
    } else sub.names = sorted;
    this.sendRequest(sub);
  }

  status(): SubscriptionStatus[] {
    return SUBSCRIBE_ORDER.flatMap((t) => {
      const s = this.subs.get(t);
      return s ? [{ ...s, names: [...s.names] }] : [];
    });
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.streamGeneration++;
    this.call?.cancel();
    this.call = undefined;
    this.grpcClient?.close();
    this.grpcClient = undefined;
    this.connectedFlag = false;
  }

  private openStream(): void {
    if (this.closed) return;
    const generation = ++this.streamGeneration;
    this.grpcClient ??= new grpc.Client(this.options.target, grpc.credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.max_receive_message_length': -1,
    });
    const { request, response } = adsCodecs();
    const call = this.grpcClient.makeBidiStreamRequest<DiscoveryRequest, DiscoveryResponse>(
      ADS_STREAM_METHOD,
      request.serialize,
      response.deserialize,
    );
    this.call = call;
    this.sentNode = false;
    this.clustersSeenOnStream = false;
    this.endpointsSeenOnStream = false;
    this.listenersUnblocked = false;
    this.heldListeners = undefined;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    for (const sub of this.subs.values()) sub.lastNonce = '';
    const lost = (reason: string): void => {
      if (generation !== this.streamGeneration) return;
      this.streamGeneration++;
      this.call = undefined;
      const wasConnected = this.connectedFlag;
      this.connectedFlag = false;
      if (this.closed) return;
      const delay = this.backoff.next();
      this.logger.warn({ target: this.options.target, reason, retryInMs: delay }, 'xds-client: ADS stream lost; keeping last config');
      if (wasConnected) this.options.events.onDisconnected?.(reason);
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        this.openStream();
      }, delay);
    };
    call.on('data', (res: DiscoveryResponse) => {
      if (generation !== this.streamGeneration) return;
      if (!this.connectedFlag) {
        this.connectedFlag = true;
        this.backoff.reset();
        this.options.events.onConnected?.(this.options.target);
      }
      this.enqueue(() => this.onResponse(res, generation));
    });
    call.on('error', (err: grpc.ServiceError) => lost(err.details || err.message));
    call.on('end', () => lost('server ended the stream'));
    for (const type of SUBSCRIBE_ORDER) {
      const sub = this.subs.get(type);
      if (sub && (sub.names.length > 0 || type === TypeUrl.Cluster || type === TypeUrl.Listener)) this.sendRequest(sub);
    }
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((err) => this.logger.error({ err: errorMessage(err) }, 'xds-client: internal error'));
  }

  private async onResponse(res: DiscoveryResponse, generation: number): Promise<void> {
    if (generation !== this.streamGeneration) return;
    const type = res.type_url as XdsTypeUrl;
    const sub = this.subs.get(type);
    if (!sub) {
      this.logger.debug({ typeUrl: res.type_url }, 'xds-client: response for a type not subscribed; ignored');
      return;
    }
    if (type === TypeUrl.Listener && !this.listenersMayApply()) {
      // Listeners refer to clusters: on a new stream, apply them once its clusters (and their endpoints) are in.
      this.heldListeners = res;
      this.holdTimer ??= setTimeout(() => {
        this.holdTimer = undefined;
        this.logger.warn('xds-client: clusters or endpoints still missing; applying the held listeners anyway');
        this.listenersUnblocked = true;
        this.enqueue(() => this.releaseListeners(generation));
      }, this.options.listenerHoldMs ?? 5000);
      return;
    }
    await this.apply(sub, res);
    if (type === TypeUrl.Cluster) this.clustersSeenOnStream = true;
    if (type === TypeUrl.ClusterLoadAssignment) this.endpointsSeenOnStream = true;
    if (this.heldListeners && this.listenersMayApply()) await this.releaseListeners(generation);
  }

  /** Like Envoy's cluster warming: listeners wait for this stream's clusters and, if any were asked for, endpoints. */
  private listenersMayApply(): boolean {
    if (this.listenersUnblocked || !this.subs.has(TypeUrl.Cluster)) return true;
    if (!this.clustersSeenOnStream) return false;
    const eds = this.subs.get(TypeUrl.ClusterLoadAssignment);
    return !eds || eds.names.length === 0 || this.endpointsSeenOnStream;
  }

  private async releaseListeners(generation: number): Promise<void> {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (generation !== this.streamGeneration) return;
    const held = this.heldListeners;
    this.heldListeners = undefined;
    const listenerSub = this.subs.get(TypeUrl.Listener);
    if (held && listenerSub) await this.apply(listenerSub, held);
  }

  private async apply(sub: SubscriptionStatus, res: DiscoveryResponse): Promise<void> {
    sub.lastNonce = res.nonce;
    let error: string | undefined;
    try {
      const resources = new Map<string, EnvoyJson>();
      // The proxy keeps every resource's JSON: blocks repeated across the response are kept once.
      const interner = new JsonInterner();
      for (const [i, any] of (res.resources ?? []).entries()) {
        const resource = interner.intern(toEnvoyJson(sub.typeUrl, any));
        const name = resourceName(sub.typeUrl, resource);
        if (!name) throw new Error(`resource ${i} has no name`);
        if (resources.has(name)) throw new Error(`resource "${name}" appears twice`);
        resources.set(name, resource);
      }
      await this.options.events.onResources(sub.typeUrl, resources, res.version_info);
    } catch (err) {
      error = errorMessage(err);
    }
    if (error === undefined) {
      sub.acceptedVersion = res.version_info;
      sub.lastError = undefined;
      this.logger.debug({ type: shortTypeName(sub.typeUrl), version: res.version_info }, 'xds-client: applied');
    } else {
      sub.lastError = error;
      this.logger.warn({ type: shortTypeName(sub.typeUrl), version: res.version_info, error }, 'xds-client: rejected config (NACK)');
    }
    this.sendRequest(sub, error);
  }

  /** A subscription change, an ACK (no error) or a NACK (error) for the last response of this type. */
  private sendRequest(sub: SubscriptionStatus, error?: string): void {
    const call = this.call;
    if (!call) return;
    const req: DiscoveryRequest = {
      type_url: sub.typeUrl,
      resource_names: sub.names,
      version_info: sub.acceptedVersion,
      response_nonce: sub.lastNonce,
    };
    if (error !== undefined) req.error_detail = { code: grpc.status.INVALID_ARGUMENT, message: error };
    if (!this.sentNode) {
      req.node = this.nodeMessage();
      this.sentNode = true;
    }
    call.write(req);
  }

  private nodeMessage(): object {
    const node = { user_agent_name: 'sailfin', ...this.options.node };
    const type = lookupMessageType('envoy.config.core.v3.Node');
    return type.decode(encodeEnvoyJson('envoy.config.core.v3.Node', node));
  }
}
