/**
 * The seam between the ADS transport and the code that decides what each proxy gets. The server knows
 * nothing about Istio: it asks an `XdsGenerator` for the resources of one type for one proxy, and it is told
 * to `push` when the inputs change. Per-proxy generators from Istio config plug in here.
 */
import type { EnvoyJson, JsonObject } from './envoy-json.js';
import type { XdsTypeUrl } from './protos.js';

/** What the server knows about one connected xDS client (one ADS stream). Generators read it, never write it. */
export interface ConnectedProxy {
  /** node.id, e.g. Istio's "sidecar~10.0.0.5~reviews-v1-abc.default~default.svc.cluster.local". */
  readonly id: string;
  /** Unique per stream: the same node reconnecting gets a new one. */
  readonly connectionId: string;
  /** The whole envoy.config.core.v3.Node from the stream's first request, in Envoy JSON form. */
  readonly node: EnvoyJson;
  /** node.metadata as plain JSON (Istio puts NAMESPACE, LABELS, INSTANCE_IPS, … here). */
  readonly metadata: JsonObject;
  readonly connectedAt: Date;
  /**
   * Names the proxy subscribed to, per type. An empty list for LDS/CDS means wildcard (all); for other
   * types it means nothing is wanted.
   */
  subscribedNames(typeUrl: XdsTypeUrl): readonly string[] | undefined;
  /** A place for a generator to keep derived per-proxy data (parsed metadata, caches); dropped with the stream. */
  readonly scratch: Map<string | symbol, unknown>;
}

export interface GeneratedResource {
  name: string;
  /** The resource in Envoy JSON form, without "@type". */
  resource: EnvoyJson;
}

export interface XdsGenerator {
  /**
   * The resources of `typeUrl` for `proxy`. `names` is the proxy's subscription (empty = wildcard for
   * LDS/CDS). Returning resources the proxy did not ask for is allowed for wildcard types only; the server
   * filters named subscriptions. Throwing makes the server skip this type for this proxy and log why.
   */
  generate(proxy: ConnectedProxy, typeUrl: XdsTypeUrl, names: readonly string[]): GeneratedResource[] | Promise<GeneratedResource[]>;
}

/** A request to recompute and send config, coalesced by the debouncer. */
export interface PushRequest {
  /** Only proxies this returns true for (default: all). */
  proxies?: (proxy: ConnectedProxy) => boolean;
  /** Only these types (default: all). An endpoint-only change passes [TypeUrl.ClusterLoadAssignment]. */
  types?: readonly XdsTypeUrl[];
  /** Why, for logs and /metrics (e.g. "config", "endpoint", "secret"). */
  reason: string;
}
