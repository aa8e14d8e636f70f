/**
 * Incremental ("delta") ADS on one stream, for Envoys configured with `api_type: DELTA_GRPC`: the proxy
 * subscribes and unsubscribes names, says on (re)connect which resource versions it holds, and every
 * response carries only resources that changed plus the names removed. A resource's version is its
 * content hash, so a reconnecting proxy that already runs the current config is sent nothing new.
 */
import * as grpc from '@grpc/grpc-js';
import type { RpcStatus } from './ads-service.js';
import type { AnyMessage } from './envoy-json.js';
import { isWildcardCapable, type ProxyConnection, type WatchState } from './proxy-connection.js';
import { shortTypeName, type XdsTypeUrl } from './protos.js';
import type { StreamHost } from './stream-host.js';
import { serveAdsStream } from './stream-setup.js';

export interface DeltaDiscoveryRequest {
  node?: object | null;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: RpcStatus | null;
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: Array<{ name: string; version: string; resource: AnyMessage }>;
  type_url: string;
  removed_resources: string[];
  nonce: string;
  control_plane?: { identifier: string };
}

export type DeltaCall = grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

/** What to send: only differences, everything current, or differences but answer even when there are none. */
type SendMode = 'changes' | 'all' | 'answer';

/** The previous client state, kept until the response that changed it is ACKed, to restore on NACK. */
const beforeLastSend = new WeakMap<WatchState, Map<string, string>>();

export function serveDeltaStream(host: StreamHost, known: ReadonlySet<string>, call: DeltaCall): void {
  serveAdsStream(
    host,
    call,
    (c) => {
      c.protocol = 'delta';
      c.sender = (type, force) => send(host, c, call, type, force ? 'all' : 'changes');
    },
    (c, req) => onRequest(host, known, c, call, req),
  );
}

async function onRequest(host: StreamHost, known: ReadonlySet<string>, conn: ProxyConnection, call: DeltaCall, req: DeltaDiscoveryRequest): Promise<void> {
  const typeUrl = req.type_url ?? '';
  if (!known.has(typeUrl)) {
    host.logger.debug({ proxy: conn.id, typeUrl }, 'xds: ignoring delta subscription to a type Sailfin does not serve');
    return;
  }
  const type = typeUrl as XdsTypeUrl;
  const subscribe = (req.resource_names_subscribe ?? []).filter((n) => n !== '*');
  const unsubscribe = new Set(req.resource_names_unsubscribe ?? []);
  let watch = conn.watches.get(type);

  if (!watch) {
    // First request for this type on this stream: the proxy may already hold resources from an earlier stream.
    const held = new Map(Object.entries(req.initial_resource_versions ?? {}));
    watch = { typeUrl: type, names: [...new Set(subscribe)].sort(), sentResources: new Map(), sentHashes: held };
    if (held.size > 0) watch.resumedFrom = `${held.size} resources held`;
    conn.watches.set(type, watch);
    await send(host, conn, call, type, 'answer');
    return;
  }

  const nonce = req.response_nonce ?? '';
  if (nonce && nonce === watch.sentNonce) {
    const previous = beforeLastSend.get(watch);
    beforeLastSend.delete(watch);
    if (req.error_detail && (req.error_detail.message || req.error_detail.code)) {
      // The proxy kept what it had: forget that we thought it took the rejected resources.
      if (previous) watch.sentHashes = previous;
      const message = req.error_detail.message || `code ${req.error_detail.code}`;
      host.recordNack(conn, type, { version: watch.ackedVersion ?? '', rejectedNonce: nonce, message, at: new Date() }, watch.sentVersion);
    } else {
      host.recordAck(conn, type, watch.sentVersion ?? '');
    }
  }

  // Subscription changes count whatever the nonce: delta requests are not tied to one response.
  const names = new Set(watch.names);
  let added = false;
  for (const name of subscribe) if (!names.has(name)) (names.add(name), (added = true));
  for (const name of unsubscribe) {
    names.delete(name);
    watch.sentHashes?.delete(name);
  }
  if (added || unsubscribe.size > 0) {
    watch.names = [...names].sort();
    watch.nameSet = undefined;
  }
  if (added) await send(host, conn, call, type, 'changes');
}

async function send(host: StreamHost, conn: ProxyConnection, call: DeltaCall, type: XdsTypeUrl, mode: SendMode): Promise<boolean> {
  const watch = conn.watches.get(type);
  if (!watch || conn.closed) return false;
  const wildcard = watch.names.length === 0 && isWildcardCapable(type);
  const generated = watch.names.length === 0 && !wildcard ? new Map() : await host.generate(conn, type);
  if (!generated) return false;
  const held = watch.sentHashes ?? new Map<string, string>();
  const resources: DeltaDiscoveryResponse['resources'] = [];
  const now = new Map<string, string>();
  for (const [name, encoded] of generated) {
    const version = encoded.hash.slice(0, 16);
    now.set(name, version);
    if (mode === 'all' || held.get(name) !== version) resources.push({ name, version, resource: encoded.any });
  }
  // What the proxy holds but is no longer generated (for named subscriptions: subscribed names only).
  const subscribed = wildcard ? undefined : (watch.nameSet ??= new Set(watch.names));
  const removed = [...held.keys()].filter((name) => !now.has(name) && (!subscribed || subscribed.has(name)));
  if (mode === 'changes' && resources.length === 0 && removed.length === 0) return false;
  if (conn.closed) return false;
  const response: DeltaDiscoveryResponse = {
    system_version_info: host.version(),
    resources,
    type_url: type,
    removed_resources: removed,
    nonce: host.nonce(),
    control_plane: { identifier: host.controlPlaneId() },
  };
  call.write(response);
  beforeLastSend.set(watch, new Map(held));
  watch.sentHashes = now;
  watch.sentResources = generated;
  watch.sentVersion = response.system_version_info;
  watch.sentNonce = response.nonce;
  watch.sentAt = new Date();
  host.recordSent(conn, type, resources.length);
  host.logger.debug({ proxy: conn.id, type: shortTypeName(type), changed: resources.length, removed: removed.length }, 'xds: delta sent');
  return true;
}
