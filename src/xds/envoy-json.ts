/**
 * Envoy's JSON/YAML form of its protos ↔ protobuf wire messages.
 *
 * Sailfin's generators and proxy read and write Envoy config the way an Envoy bootstrap YAML spells it: the
 * proto3 JSON mapping but with the original snake_case field names (camelCase is accepted on input, as Envoy
 * does), Durations as "1.5s", wrappers as plain values, Struct as plain JSON, enums by name and `Any` as an
 * object with "@type" plus the message's fields. 64-bit integers come out as numbers when exact, else as
 * decimal strings; both are accepted on input. Unknown fields are errors that name the field path.
 */
import protobuf from 'protobufjs';
import { SailfinError } from '../common/errors.js';
import { lookupMessageType, TYPE_URL_PREFIX } from './protos.js';
import {
  type JsonObject,
  type JsonValue,
  durationFromJson,
  durationToJson,
  scalarFromJson,
  scalarToJson,
  schemaError,
  timestampFromJson,
  timestampToJson,
} from './json-scalars.js';

export type { JsonObject, JsonValue } from './json-scalars.js';
/** One Envoy resource (or any Envoy message) in its JSON/YAML form. */
export type EnvoyJson = JsonObject;

/** google.protobuf.Any as protobufjs decodes it. */
export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((n) => `google.protobuf.${n}Value`),
);
/** Well-known types whose JSON is not an object: inside Any they sit under "value". */
const SPECIAL_JSON = new Set([
  ...WRAPPERS,
  'google.protobuf.Duration',
  'google.protobuf.Timestamp',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
  'google.protobuf.FieldMask',
]);

const typeNames = new WeakMap<protobuf.ReflectionObject, string>();

/** protobufjs rebuilds `fullName` from the parent chain on every read; conversion asks for it per message. */
function nameOf(type: protobuf.ReflectionObject): string {
  let name = typeNames.get(type);
  if (name === undefined) {
    name = type.fullName.replace(/^\./, '');
    typeNames.set(type, name);
  }
  return name;
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export function isAnyMessage(value: unknown): value is AnyMessage {
  return !!value && typeof value === 'object' && typeof (value as AnyMessage).type_url === 'string' && 'value' in value;
}

// ───────────────────────────── wire → JSON ─────────────────────────────

/**
 * A message arriving over the wire → its Envoy JSON form. `input` is an Any (its type must be `typeUrl`), a
 * decoded message, or encoded bytes of the message. The result has no "@type" (it is the resource itself).
 */
export function toEnvoyJson(typeUrl: string, input: AnyMessage | protobuf.Message | Uint8Array | object): EnvoyJson {
  const type = lookupMessageType(typeUrl);
  let message: object;
  if (input instanceof Uint8Array) message = type.decode(input);
  else if (isAnyMessage(input) && nameOf(type) !== 'google.protobuf.Any') {
    if (input.type_url !== typeUrl) {
      throw new SailfinError('schema', `resource has type ${input.type_url}, expected ${typeUrl}`);
    }
    message = type.decode(input.value);
  } else message = input;
  const json = messageToJson(type, message);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SailfinError('schema', `${typeUrl} has no object form`);
  }
  return json;
}

/** Any → `{"@type": url, ...fields}` (or `{"@type", value}` for the well-known types with scalar JSON). */
export function anyToJson(any: AnyMessage): JsonObject {
  const type = lookupMessageType(any.type_url);
  const inner = messageToJson(type, type.decode(any.value));
  if (SPECIAL_JSON.has(nameOf(type)) || inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
    return { '@type': any.type_url, value: inner };
  }
  return { '@type': any.type_url, ...inner };
}

function messageToJson(type: protobuf.Type, msg: any): JsonValue {
  switch (nameOf(type)) {
    case 'google.protobuf.Any':
      return anyToJson(msg as AnyMessage);
    case 'google.protobuf.Duration':
      return durationToJson(msg.seconds, msg.nanos ?? 0);
    case 'google.protobuf.Timestamp':
      return timestampToJson(msg.seconds, msg.nanos ?? 0);
    case 'google.protobuf.Struct':
      return structToJson(msg);
    case 'google.protobuf.Value':
      return valueToJson(msg);
    case 'google.protobuf.ListValue':
      return ((msg.values ?? []) as unknown[]).map(valueToJson);
    case 'google.protobuf.FieldMask':
      return ((msg.paths ?? []) as string[]).join(',');
  }
  if (WRAPPERS.has(nameOf(type))) return fieldValueToJson(type.fields.value, msg.value ?? type.fields.value.defaultValue);
  const out: JsonObject = {};
  for (const field of type.fieldsArray) {
    const value = msg[field.name];
    if (value === undefined || value === null) continue;
    if (field.map) {
      const keys = Object.keys(value);
      if (keys.length === 0) continue;
      const obj: JsonObject = {};
      for (const key of keys) obj[key] = fieldValueToJson(field, value[key]);
      out[field.name] = obj;
    } else if (field.repeated) {
      if (value.length === 0) continue;
      out[field.name] = (value as unknown[]).map((v) => fieldValueToJson(field, v));
    } else {
      const isMessage = field.resolvedType instanceof protobuf.Type;
      if (field.hasPresence && !isMessage) {
        if (!Object.prototype.hasOwnProperty.call(msg, field.name)) continue;
      } else if (!isMessage && isDefaultScalar(field, value)) continue;
      out[field.name] = fieldValueToJson(field, value);
    }
  }
  return out;
}

function isDefaultScalar(field: protobuf.Field, value: unknown): boolean {
  if (value === 0 || value === '' || value === false) return true;
  if (value instanceof Uint8Array) return value.length === 0;
  if (value && typeof value === 'object' && 'low' in value && 'high' in value) {
    const long = value as { low: number; high: number };
    return long.low === 0 && long.high === 0;
  }
  void field;
  return false;
}

function fieldValueToJson(field: protobuf.Field, value: unknown): JsonValue {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageToJson(resolved, value);
  if (resolved instanceof protobuf.Enum) {
    if (nameOf(resolved) === 'google.protobuf.NullValue') return null;
    return resolved.valuesById[value as number] ?? (value as number);
  }
  return scalarToJson(field.type, value);
}

function structToJson(msg: any): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(msg.fields ?? {})) out[key] = valueToJson(value);
  return out;
}

/**
 * google.protobuf.Value's field names: protobufjs supplies the well-known types from its own bundled
 * definitions, which are camelCase even when the rest of the schema keeps snake_case, so look them up by number.
 */
interface ValueFieldNames {
  null: string;
  number: string;
  string: string;
  bool: string;
  struct: string;
  list: string;
}
let valueFields: ValueFieldNames | undefined;
function valueFieldNames(): ValueFieldNames {
  if (!valueFields) {
    const byId = lookupMessageType('google.protobuf.Value').fieldsById;
    valueFields = {
      null: byId[1].name,
      number: byId[2].name,
      string: byId[3].name,
      bool: byId[4].name,
      struct: byId[5].name,
      list: byId[6].name,
    };
  }
  return valueFields;
}

function valueToJson(msg: any): JsonValue {
  if (!msg) return null;
  const f = valueFieldNames();
  // Decoded messages carry defaults on their prototype, so only own properties say which `kind` is set.
  const has = (key: string): boolean => Object.prototype.hasOwnProperty.call(msg, key) && msg[key] != null;
  if (has(f.struct)) return structToJson(msg[f.struct]);
  if (has(f.list)) return ((msg[f.list].values ?? []) as unknown[]).map(valueToJson);
  if (has(f.string)) return msg[f.string] as string;
  if (has(f.number)) return scalarToJson('double', msg[f.number]);
  if (has(f.bool)) return msg[f.bool] as boolean;
  return null;
}

// ───────────────────────────── JSON → wire ─────────────────────────────

/**
 * An Envoy JSON resource → an Any ready for a DiscoveryResponse. A "@type" key on the object, if present,
 * must agree with `typeUrl`. Throws a `schema` SailfinError naming the field path on anything that does not fit.
 */
export function fromEnvoyJson(typeUrl: string, json: JsonObject, path = ''): AnyMessage {
  const type = lookupMessageType(typeUrl);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw schemaError(path, 'expected an object');
  const { '@type': declared, ...rest } = json;
  if (declared !== undefined && declared !== typeUrl) {
    throw schemaError(join(path, '@type'), `is ${JSON.stringify(declared)}, expected ${typeUrl}`);
  }
  return { type_url: typeUrl, value: encodeMessage(type, rest, path) };
}

/** Any JSON message (no "@type") → encoded bytes of `typeUrlOrName`. */
export function encodeEnvoyJson(typeUrlOrName: string, json: JsonValue, path = ''): Uint8Array {
  return encodeMessage(lookupMessageType(typeUrlOrName), json, path);
}

function encodeMessage(type: protobuf.Type, json: JsonValue, path: string): Uint8Array {
  const plain = messageFromJson(type, json, path);
  return type.encode(plain as protobuf.Message).finish();
}

/** `{"@type": ..., ...}` → Any. */
export function anyFromJson(json: JsonValue, path: string): AnyMessage {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw schemaError(path, 'expected an object with "@type"');
  const typeUrl = json['@type'];
  if (typeof typeUrl !== 'string' || !typeUrl.includes('/')) {
    throw schemaError(join(path, '@type'), 'an Any needs "@type": "type.googleapis.com/<message>"');
  }
  let type: protobuf.Type;
  try {
    type = lookupMessageType(typeUrl);
  } catch (err) {
    throw schemaError(join(path, '@type'), (err as Error).message);
  }
  const { '@type': _ignored, ...rest } = json;
  const body = SPECIAL_JSON.has(nameOf(type)) ? (rest.value ?? null) : rest;
  return { type_url: typeUrl, value: encodeMessage(type, body, path) };
}

/** JSON → the plain object protobufjs' encoder takes (enums as numbers, Any packed, WKTs expanded). */
function messageFromJson(type: protobuf.Type, json: JsonValue, path: string): object {
  switch (nameOf(type)) {
    case 'google.protobuf.Any':
      return anyFromJson(json, path);
    case 'google.protobuf.Duration':
      return durationFromJson(json, path);
    case 'google.protobuf.Timestamp':
      return timestampFromJson(json, path);
    case 'google.protobuf.Struct':
      return structFromJson(json, path);
    case 'google.protobuf.Value':
      return valueFromJson(json, path);
    case 'google.protobuf.ListValue':
      if (!Array.isArray(json)) throw schemaError(path, 'expected a list');
      return { values: json.map((v, i) => valueFromJson(v, join(path, i))) };
    case 'google.protobuf.FieldMask':
      if (typeof json !== 'string') throw schemaError(path, 'expected a comma-separated field mask');
      return { paths: json === '' ? [] : json.split(',') };
  }
  if (WRAPPERS.has(nameOf(type))) return { value: fieldValueFromJson(type.fields.value, json, path) };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw schemaError(path, `expected an object (${nameOf(type)})`);
  }
  const fields = fieldIndex(type);
  const out: Record<string, unknown> = {};
  const oneofSeen = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const field = fields.get(key);
    const fieldPath = join(path, key);
    if (!field) throw schemaError(fieldPath, `unknown field "${key}" in ${nameOf(type)}`);
    if (value === null && !(field.resolvedType && nameOf(field.resolvedType) === 'google.protobuf.Value')) continue;
    if (field.partOf) {
      const other = oneofSeen.get(field.partOf.name);
      if (other) throw schemaError(fieldPath, `"${key}" and "${other}" are both set but are alternatives (oneof ${field.partOf.name})`);
      oneofSeen.set(field.partOf.name, key);
    }
    if (field.map) {
      if (typeof value !== 'object' || Array.isArray(value)) throw schemaError(fieldPath, 'expected a map (object)');
      const map: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as JsonObject)) map[k] = fieldValueFromJson(field, v, join(fieldPath, k));
      out[field.name] = map;
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw schemaError(fieldPath, 'expected a list');
      out[field.name] = value.map((v, i) => fieldValueFromJson(field, v, join(fieldPath, i)));
    } else {
      out[field.name] = fieldValueFromJson(field, value, fieldPath);
    }
  }
  return out;
}

function fieldValueFromJson(field: protobuf.Field, value: JsonValue, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageFromJson(resolved, value, path);
  if (resolved instanceof protobuf.Enum) {
    if (nameOf(resolved) === 'google.protobuf.NullValue') return 0;
    if (typeof value === 'string' && value in resolved.values) return resolved.values[value];
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    const names = Object.keys(resolved.values).join(', ');
    throw schemaError(path, `${JSON.stringify(value)} is not one of ${names}`);
  }
  return scalarFromJson(field.type, value, path);
}

function structFromJson(json: JsonValue, path: string): object {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw schemaError(path, 'expected an object (Struct)');
  const fields: Record<string, object> = {};
  for (const [key, value] of Object.entries(json)) fields[key] = valueFromJson(value, join(path, key));
  return { fields };
}

function valueFromJson(json: JsonValue, path: string): object {
  const f = valueFieldNames();
  if (json === null) return { [f.null]: 0 };
  if (typeof json === 'string') return { [f.string]: json };
  if (typeof json === 'number') return { [f.number]: json };
  if (typeof json === 'boolean') return { [f.bool]: json };
  if (Array.isArray(json)) return { [f.list]: { values: json.map((v, i) => valueFromJson(v, join(path, i))) } };
  return { [f.struct]: structFromJson(json, path) };
}

const fieldIndexCache = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

/** Fields by original name and by lowerCamelCase JSON name. */
function fieldIndex(type: protobuf.Type): Map<string, protobuf.Field> {
  let index = fieldIndexCache.get(type);
  if (!index) {
    index = new Map();
    for (const field of type.fieldsArray) {
      index.set(field.name, field);
      index.set(field.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()), field);
    }
    fieldIndexCache.set(type, index);
  }
  return index;
}

/** The type URL for a message name, e.g. typeUrlFor('envoy.config.listener.v3.Listener'). */
export function typeUrlFor(messageName: string): string {
  return TYPE_URL_PREFIX + messageName;
}
