/**
 * Encoding Envoy JSON into protobuf is the costliest step of a push, and most resources are identical for
 * many proxies (every sidecar gets the same endpoints of a service). Generators that hand out the same
 * object for an unchanged resource — immutable snapshots — get it encoded once, whatever the number of
 * proxies; a new object is encoded anew. Returned objects must therefore never be mutated after use.
 */
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import { encodeEnvoyJson, fromEnvoyJson, type AnyMessage, type EnvoyJson } from './envoy-json.js';
import { TypeUrl, lookupMessageType } from './protos.js';

export interface EncodedResource {
  /** Unique per encoding: names the resource in keys of shared responses (push-round.ts). */
  id: number;
  /** The JSON it was encoded from (what config_dump shows). */
  resource: EnvoyJson;
  any: AnyMessage;
  /** sha256 of the encoded bytes, to fingerprint a whole response cheaply. */
  hash: string;
  /** The Any as a complete `resources` (field 2) entry of a DiscoveryResponse; built on first use. */
  responseField?: Uint8Array;
}

/** `encoded` as a ready-to-append DiscoveryResponse.resources entry (see PRE_ENCODED_RESOURCES). */
export function responseField(encoded: EncodedResource): Uint8Array {
  if (!encoded.responseField) {
    const anyBytes = lookupMessageType('google.protobuf.Any').encode(encoded.any as object).finish();
    encoded.responseField = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(anyBytes).finish();
  }
  return encoded.responseField;
}

let nextId = 1;
const cache = new WeakMap<EnvoyJson, Map<string, EncodedResource>>();

const ROUTE_CONFIGURATION = TypeUrl.RouteConfiguration;
/** Each virtual host as a complete `virtual_hosts` field entry, by object. */
const virtualHostFields = new WeakMap<object, Uint8Array>();

/**
 * A sidecar's route table holds a host per service, and the tables of different namespaces share almost
 * all of them (pilot/route-tables.ts hands out the same objects): encode each host once and lay the table
 * out as its other fields followed by those entries (protobuf allows any field order).
 */
function encodeRouteConfiguration(resource: EnvoyJson): AnyMessage {
  const hosts = resource.virtual_hosts;
  if (!Array.isArray(hosts) || !hosts.every((h) => h !== null && typeof h === 'object' && !Array.isArray(h))) return fromEnvoyJson(ROUTE_CONFIGURATION, resource);
  const { virtual_hosts: _hosts, ...rest } = resource;
  const head = fromEnvoyJson(ROUTE_CONFIGURATION, rest);
  const fieldId = lookupMessageType(ROUTE_CONFIGURATION).fields.virtual_hosts.id;
  const parts: Uint8Array[] = [head.value];
  let length = head.value.length;
  hosts.forEach((host, i) => {
    let field = virtualHostFields.get(host as object);
    if (!field) {
      const bytes = encodeEnvoyJson('envoy.config.route.v3.VirtualHost', host, `virtual_hosts[${i}]`);
      field = protobuf.Writer.create().uint32((fieldId << 3) | 2).bytes(bytes).finish();
      virtualHostFields.set(host as object, field);
    }
    parts.push(field);
    length += field.length;
  });
  return { type_url: ROUTE_CONFIGURATION, value: Buffer.concat(parts, length) };
}

/** The resource as an Any of `typeUrl`; throws a field-naming SailfinError when it does not fit the schema. */
export function encodeResource(typeUrl: string, resource: EnvoyJson): EncodedResource {
  let byType = cache.get(resource);
  const hit = byType?.get(typeUrl);
  if (hit) return hit;
  const any = typeUrl === ROUTE_CONFIGURATION ? encodeRouteConfiguration(resource) : fromEnvoyJson(typeUrl, resource);
  const encoded: EncodedResource = { id: nextId++, resource, any, hash: createHash('sha256').update(any.value).digest('base64') };
  if (!byType) cache.set(resource, (byType = new Map()));
  byType.set(typeUrl, encoded);
  return encoded;
}
