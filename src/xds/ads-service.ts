/**
 * The gRPC shape of Envoy's Aggregated Discovery Service, built from the same protobufjs schema the JSON
 * conversion uses (protos.ts), so the server, the client and the tests share one definition and the wire
 * messages are Envoy's own DiscoveryRequest / DiscoveryResponse.
 */
import type * as grpc from '@grpc/grpc-js';
import { ADS_DELTA_METHOD, ADS_STREAM_METHOD, lookupMessageType } from './protos.js';
import type { AnyMessage } from './envoy-json.js';

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

function codec<T>(messageName: string): { serialize: (value: T) => Buffer; deserialize: (bytes: Buffer) => T } {
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

function responseCodec(): ReturnType<typeof codec<DiscoveryResponse>> {
  const type = lookupMessageType(RESPONSE);
  const plain = codec<DiscoveryResponse>(RESPONSE);
  return {
    serialize: (value: DiscoveryResponse) => {
      const pre = (value as { [PRE_ENCODED_RESOURCES]?: Uint8Array[] })[PRE_ENCODED_RESOURCES];
      if (!pre) return plain.serialize(value);
      const head = type.encode({ ...value, resources: [] }).finish();
      return Buffer.concat([head, ...pre]);
    },
    deserialize: plain.deserialize,
  };
}

export interface AdsCodecs {
  request: ReturnType<typeof codec<DiscoveryRequest>>;
  response: ReturnType<typeof codec<DiscoveryResponse>>;
}

let codecs: AdsCodecs | undefined;

/** Serializers for DiscoveryRequest/Response; loads the protos on first use. */
export function adsCodecs(): AdsCodecs {
  codecs ??= { request: codec<DiscoveryRequest>(REQUEST), response: responseCodec() };
  return codecs;
}

/** The service definition a grpc.Server registers: SotW and (optionally) delta streams. */
export function adsServiceDefinition(): grpc.ServiceDefinition {
  const { request, response } = adsCodecs();
  const deltaRequest = codec<object>(DELTA_REQUEST);
  const deltaResponse = codec<object>(DELTA_RESPONSE);
  return {
    StreamAggregatedResources: {
      path: ADS_STREAM_METHOD,
      requestStream: true,
      responseStream: true,
      requestSerialize: request.serialize,
      requestDeserialize: request.deserialize,
      responseSerialize: response.serialize,
      responseDeserialize: response.deserialize,
    },
    DeltaAggregatedResources: {
      path: ADS_DELTA_METHOD,
      requestStream: true,
      responseStream: true,
      requestSerialize: deltaRequest.serialize,
      requestDeserialize: deltaRequest.deserialize,
      responseSerialize: deltaResponse.serialize,
      responseDeserialize: deltaResponse.deserialize,
    },
  };
}
