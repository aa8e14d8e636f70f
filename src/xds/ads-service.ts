/**
 * The gRPC shape of Envoy's Aggregated Discovery Service, built from the same protobufjs schema the JSON
 * conversion uses (protos.ts), so the server, the client and the tests share one definition and the wire
 * messages are Envoy's own DiscoveryRequest / DiscoveryResponse.
 */
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { ADS_DELTA_METHOD, ADS_STREAM_METHOD, lookupMessageType } from './protos.js';
import type { AnyMessage } from './envoy-json.js';
import { frameMessage, installPreFramedWrites } from './grpc-framing.js';

/** google.rpc.Status as it travels in error_detail. */
export interface RpcStatus {
  code?: number;
  message?: string;
}

/** envoy.service.discovery.v3.DiscoveryRequest with protobufjs' snake_case field names. */
export interface DiscoveryRequest {
  version_info?: string;
  /** envoy.config.core.v3.Node as decoded; only the first request of a stream must carry it. */
  node?: object | null;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: RpcStatus | null;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
  control_plane?: { identifier: string };
}

const REQUEST = 'envoy.service.discovery.v3.DiscoveryRequest';
const RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';
const DELTA_REQUEST = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';
const DELTA_RESPONSE = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';

/** A message's gRPC (de)serializers. */
export interface Codec<T> {
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}

function codec<T>(messageName: string): Codec<T> {
  const type = lookupMessageType(messageName);
  return {
    // Plain objects with the schema's field names encode directly; nested Any stays {type_url, value}.
    serialize: (value: T) => Buffer.from(type.encode(value as object).finish()),
    // Decoded messages read unset strings/lists as ''/[] from their prototype, and toEnvoyJson takes them as is.
    deserialize: (bytes: Buffer) => type.decode(bytes) as unknown as T,
  };
}

/**
 * A DiscoveryResponse may carry its `resources` already in wire form (each a complete field-2 entry) under
 * this key: the same resource sent to hundreds of proxies is then encoded once, and each response is its
 * few header fields followed by those bytes (protobuf allows fields in any order).
 */
export const PRE_ENCODED_RESOURCES = Symbol('preEncodedResources');

/**
 * A DiscoveryResponse may instead be already serialized whole under this key (see push-round.ts): the
 * bytes are handed to gRPC as they are, so one Buffer serves every stream that gets the same response.
 */
export const PRE_SERIALIZED = Symbol('preSerialized');

/**
 * The DiscoveryResponse `header` (its resources ignored) followed by the pre-encoded `resources` entries,
 * as a gRPC frame and the message within it (see grpc-framing.ts).
 */
export function serializeResponse(header: DiscoveryResponse, resources: readonly Uint8Array[]): { frame: Buffer; message: Buffer } {
  return frameMessage([encodeHead(header), ...resources]);
}

/** The response without its resources; the pre-encoded `resources` field entries follow it on the wire. */
function encodeHead(value: DiscoveryResponse): Uint8Array {
  return lookupMessageType(RESPONSE).encode({ ...value, resources: [] }).finish();
}

function responseCodec(): Codec<DiscoveryResponse> {
  const plain = codec<DiscoveryResponse>(RESPONSE);
  return {
    serialize: (value: DiscoveryResponse) => {
      const whole = (value as { [PRE_SERIALIZED]?: Buffer })[PRE_SERIALIZED];
      if (whole) return whole;
      const pre = (value as { [PRE_ENCODED_RESOURCES]?: Uint8Array[] })[PRE_ENCODED_RESOURCES];
      if (!pre) return plain.serialize(value);
      return lazyConcat([encodeHead(value), ...pre]);
    },
    deserialize: plain.deserialize,
  };
}

/**
 * The parts of a message as grpc-js' server reads a serialized message: it takes `byteLength`, allocates
 * the frame and calls `copy(frame, 5)`. Handing it the parts instead of their concatenation saves one
 * allocation and copy of every response (hundreds of KB each, to each of hundreds of proxies); anything
 * else that reads the value gets a real Buffer.
 */
function lazyConcat(parts: Uint8Array[]): Buffer {
  let byteLength = 0;
  for (const p of parts) byteLength += p.length;
  let whole: Buffer | undefined;
  const real = () => (whole ??= Buffer.concat(parts, byteLength));
  const lazy = {
    byteLength,
    length: byteLength,
    copy(target: Uint8Array, targetStart = 0): number {
      let at = targetStart;
      for (const p of parts) {
        target.set(p, at);
        at += p.length;
      }
      return byteLength;
    },
  };
  return new Proxy(lazy, {
    get: (t, key) => {
      if (key in t) return t[key as keyof typeof t];
      const value: unknown = Reflect.get(real(), key);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real()) : value;
    },
  }) as unknown as Buffer;
}

/** On a decoded DiscoveryRequest: the raw bytes of its resource_names entries, to tell "same names" by memcmp. */
export const RAW_RESOURCE_NAMES = Symbol('rawResourceNames');

/**
 * DiscoveryRequest decoding with resource_names left undecoded until read. Every ACK repeats the whole
 * subscription (a sidecar's thousand-odd endpoint names), and it is almost always the one before: the
 * stream compares the raw bytes (RAW_RESOURCE_NAMES) and decodes only when they differ.
 */
function requestCodec(): Codec<DiscoveryRequest> {
  const plain = codec<DiscoveryRequest>(REQUEST);
  const type = lookupMessageType(REQUEST);
  const id = (name: string) => type.fields[name].id;
  const [VERSION, NODE, NAMES, TYPE_URL, NONCE, ERROR] = ['version_info', 'node', 'resource_names', 'type_url', 'response_nonce', 'error_detail'].map(id);
  const nodeType = type.fields.node.resolve().resolvedType as protobuf.Type;
  const statusType = type.fields.error_detail.resolve().resolvedType as protobuf.Type;
  return {
    serialize: plain.serialize,
    deserialize: (bytes: Buffer) => {
      const r = protobuf.Reader.create(bytes);
      const out: DiscoveryRequest & { [RAW_RESOURCE_NAMES]?: Buffer } = { version_info: '', type_url: '', response_nonce: '' };
      let namesFrom = -1;
      let namesTo = -1;
      let contiguous = true;
      while (r.pos < r.len) {
        const at = r.pos;
        const tag = r.uint32();
        const field = tag >>> 3;
        if (field === NAMES && (tag & 7) === 2) {
          if (namesFrom < 0) namesFrom = at;
          else if (at !== namesTo) contiguous = false;
          r.skip(r.uint32());
          namesTo = r.pos;
        } else if (field === VERSION) out.version_info = r.string();
        else if (field === TYPE_URL) out.type_url = r.string();
        else if (field === NONCE) out.response_nonce = r.string();
        else if (field === NODE) out.node = nodeType.decode(r, r.uint32());
        else if (field === ERROR) out.error_detail = statusType.decode(r, r.uint32()) as RpcStatus;
        else r.skipType(tag & 7);
      }
      if (namesFrom < 0) out.resource_names = [];
      else {
        if (contiguous) out[RAW_RESOURCE_NAMES] = bytes.subarray(namesFrom, namesTo);
        let names: string[] | undefined;
        Object.defineProperty(out, 'resource_names', {
          enumerable: true,
          get: () => (names ??= (type.decode(bytes) as unknown as DiscoveryRequest).resource_names ?? []),
        });
      }
      return out;
    },
  };
}

export interface AdsCodecs {
  request: Codec<DiscoveryRequest>;
  response: Codec<DiscoveryResponse>;
}

let codecs: AdsCodecs | undefined;

/** Serializers for DiscoveryRequest/Response; loads the protos on first use. */
export function adsCodecs(): AdsCodecs {
  codecs ??= { request: requestCodec(), response: responseCodec() };
  return codecs;
}

/** One bidirectional streaming method (the shape of every xDS stream: ADS, delta ADS, SDS). */
export function bidiStreamMethod<Req, Res>(path: string, request: Codec<Req>, response: Codec<Res>): grpc.MethodDefinition<Req, Res> {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: request.serialize,
    requestDeserialize: request.deserialize,
    responseSerialize: response.serialize,
    responseDeserialize: response.deserialize,
  };
}

/** The service definition a grpc.Server registers: SotW and (optionally) delta streams. */
export function adsServiceDefinition(): grpc.ServiceDefinition {
  installPreFramedWrites();
  const { request, response } = adsCodecs();
  return {
    StreamAggregatedResources: bidiStreamMethod(ADS_STREAM_METHOD, request, response),
    DeltaAggregatedResources: bidiStreamMethod(ADS_DELTA_METHOD, codec<object>(DELTA_REQUEST), codec<object>(DELTA_RESPONSE)),
  };
}
