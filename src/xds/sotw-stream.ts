/**
 * State-of-the-world ADS on one stream: every response carries all resources of its type the proxy
 * subscribed to; the proxy answers each with an ACK or a NACK that names the response's nonce.
 */
import * as grpc from '@grpc/grpc-js';
import { PRE_ENCODED_RESOURCES, PRE_SERIALIZED, RAW_RESOURCE_NAMES, serializeResponse, type DiscoveryRequest, type DiscoveryResponse } from './ads-service.js';
import { PRE_FRAMED, installPreFramedWrites } from './grpc-framing.js';
import { responseField } from './resource-encoder.js';
import { isWildcardCapable, normalizeNames, type ProxyConnection } from './proxy-connection.js';
import { shortTypeName, type XdsTypeUrl } from './protos.js';
import type { PushRound } from './push-round.js';
import type { StreamHost } from './stream-host.js';
import { serveAdsStream } from './stream-setup.js';

type SotwCall = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export function serveSotwStream(host: StreamHost, known: ReadonlySet<string>, call: SotwCall): void {
  serveAdsStream(
    host,
    call,
    (c) => {
      c.sender = (type, force, round) => send(host, c, call, type, force, round);
    },
    (c, req) => onRequest(host, known, c, call, req),
  );
}

async function onRequest(host: StreamHost, known: ReadonlySet<string>, conn: ProxyConnection, call: SotwCall, req: DiscoveryRequest): Promise<void> {
  const typeUrl = req.type_url ?? '';
  if (!known.has(typeUrl)) {
    host.logger.debug({ proxy: conn.id, typeUrl }, 'xds: ignoring subscription to a type Sailfin does not serve');
    return;
  }
  const type = typeUrl as XdsTypeUrl;
  const nonce = req.response_nonce ?? '';
  const watch = conn.watches.get(type);
  // An ACK usually repeats the subscription byte for byte: then there is nothing to decode or compare.
  const raw = (req as { [RAW_RESOURCE_NAMES]?: Buffer })[RAW_RESOURCE_NAMES];
  const sameAsBefore = !!watch && sameRaw(raw, watch.namesRaw);
  const names = sameAsBefore ? watch.names : normalizeNames(req.resource_names ?? []);

  if (!watch) {
    // A new subscription, or a proxy that reconnected (it presents the version it runs): send full state.
    conn.watches.set(type, { typeUrl: type, names, namesRaw: raw && Buffer.from(raw), sentResources: new Map(), resumedFrom: req.version_info || undefined });
    if (req.version_info) host.logger.info({ proxy: conn.id, type: shortTypeName(type), version: req.version_info }, 'xds: resubscribed');
    await send(host, conn, call, type, true);
    return;
  }
  if (nonce !== (watch.sentNonce ?? '')) {
    // An answer to a response that was superseded: the proxy will answer the newer one too.
    host.logger.debug({ proxy: conn.id, type: shortTypeName(type), nonce }, 'xds: stale nonce ignored');
    return;
  }
  if (req.error_detail && (req.error_detail.message || req.error_detail.code)) {
    const message = req.error_detail.message || `code ${req.error_detail.code}`;
    host.recordNack(conn, type, { version: req.version_info ?? '', rejectedNonce: nonce, message, at: new Date() }, watch.sentVersion);
  } else {
    host.recordAck(conn, type, req.version_info ?? '');
  }
  if (!sameAsBefore && !sameNames(names, watch.names)) {
    watch.names = names;
    watch.namesRaw = raw && Buffer.from(raw);
    watch.nameSet = undefined;
    await send(host, conn, call, type, true);
  }
}

/**
 * Generate and write one type. Unless `force`, an unchanged result is not sent: a push re-evaluates every
 * affected type but only differences travel. Within a push (`round`), a response equal to one already
 * serialized for another stream is written as those same bytes.
 */
async function send(host: StreamHost, conn: ProxyConnection, call: SotwCall, type: XdsTypeUrl, force: boolean, round?: PushRound): Promise<boolean> {
  const watch = conn.watches.get(type);
  if (!watch || conn.closed) return false;
  if (watch.names.length === 0 && !isWildcardCapable(type)) return false;
  const generated = await host.generate(conn, type);
  if (!generated) return false;
  // Unchanged resources are the very same encoded objects; a hash match covers equal-but-new ones.
  const previous = watch.sentResources;
  // Only LDS and CDS responses must carry the whole set; for the named types (RDS, EDS, SDS) a response
  // may carry just what changed (xDS "SotW" rules; Istio's incremental EDS does the same), so a push of
  // one service's endpoints sends one assignment to each proxy, not all of them.
  const partial = !force && watch.sentNonce !== undefined && !isWildcardCapable(type);
  let changed = force || watch.sentNonce === undefined || (!partial && previous.size !== generated.size);
  const wire: Uint8Array[] = [];
  let ids = '';
  for (const [name, encoded] of generated) {
    const before = changed && !partial ? undefined : previous.get(name);
    const same = before !== undefined && (before === encoded || before.hash === encoded.hash);
    if (!same) changed = true;
    if (!partial || !same) {
      wire.push(responseField(encoded));
      if (round) ids += `${encoded.id},`;
    }
  }
  if (partial && wire.length === 0) {
    // Only names gone from the generated set: SotW cannot say so for named types; nothing to send.
    watch.sentResources = generated;
    return false;
  }
  if (!changed || conn.closed) return false;
  const response: DiscoveryResponse & { [PRE_ENCODED_RESOURCES]?: Uint8Array[]; [PRE_SERIALIZED]?: Buffer; [PRE_FRAMED]?: Buffer } = {
    version_info: host.version(),
    // Written from PRE_ENCODED_RESOURCES or PRE_SERIALIZED instead (see ads-service.ts).
    resources: [],
    type_url: type,
    nonce: round ? round.nonce(type) : host.nonce(),
    control_plane: { identifier: host.controlPlaneId() },
  };
  let bytes = 0;
  for (const w of wire) bytes += w.length;
  if (round) {
    // The version and the resources (the type and nonce are the round's) make the whole response.
    const key = `${type}|${response.version_info}|${ids}`;
    // Bytes another stream of this push already holds cost no more memory when written by reference.
    if (round.has(key) && installPreFramedWrites()) bytes = 0;
    const shared = round.response(key, () => serializeResponse(response, wire));
    response[PRE_FRAMED] = shared.frame;
    response[PRE_SERIALIZED] = shared.message;
  } else response[PRE_ENCODED_RESOURCES] = wire;
  const release = await host.acquireWrite(conn, bytes);
  if (conn.closed) {
    release();
    return false;
  }
  call.write(response, () => release());
  watch.sentVersion = response.version_info;
  watch.sentNonce = response.nonce;
  watch.sentAt = new Date();
  watch.sentResources = generated;
  host.recordSent(conn, type, generated.size);
  return true;
}

function sameRaw(a: Buffer | undefined, b: Uint8Array | undefined): boolean {
  return !!a && !!b && a.length === b.length && a.equals(b);
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
