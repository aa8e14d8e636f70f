/**
 * Scalar and well-known-type pieces of the proto3 JSON mapping (Duration "1.5s", Timestamp RFC 3339,
 * 64-bit integers, bytes as base64), in both directions. Shared by the to/from conversions in envoy-json.ts.
 */
import protobuf from 'protobufjs';
import { SailfinError } from '../common/errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const UNSIGNED_LONG_TYPES = new Set(['uint64', 'fixed64']);
const INT32_TYPES = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32_TYPES = new Set(['uint32', 'fixed32']);

/** protobufjs types util.Long as a bare constructor; these are the statics of the `long` package it loads. */
interface LongStatics {
  fromValue(value: unknown): { toString(): string };
  fromString(text: string, unsigned?: boolean): unknown;
}

export function isLongType(type: string): boolean {
  return LONG_TYPES.has(type);
}

export function schemaError(path: string, message: string): SailfinError {
  return new SailfinError('schema', message, { field: path || undefined });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** A decoded 64-bit value (Long, number or string) → JSON: a number when it is exact, else a decimal string. */
export function longToJson(value: unknown, unsignedType: string): JsonValue {
  if (typeof value === 'number') return value;
  const Long = protobuf.util.Long as unknown as LongStatics | undefined;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (Long && value && typeof value === 'object') text = Long.fromValue(value).toString();
  else text = String(value);
  const asNumber = Number(text);
  void unsignedType;
  return Number.isSafeInteger(asNumber) ? asNumber : text;
}

/** One scalar (not enum, not message) from its decoded form to JSON. */
export function scalarToJson(type: string, value: unknown): JsonValue {
  if (LONG_TYPES.has(type)) return longToJson(value, type);
  if (type === 'bytes') return Buffer.from(value as Uint8Array).toString('base64');
  if (type === 'float' || type === 'double') {
    const n = value as number;
    if (Number.isNaN(n)) return 'NaN';
    if (n === Infinity) return 'Infinity';
    if (n === -Infinity) return '-Infinity';
    return n;
  }
  return value as JsonValue;
}

/** One scalar from JSON to the value protobufjs' encoder expects, with a path-naming error when it does not fit. */
export function scalarFromJson(type: string, value: JsonValue, path: string): unknown {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw schemaError(path, `expected a string, got ${describe(value)}`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw schemaError(path, `expected true or false, got ${describe(value)}`);
      return value;
    case 'bytes':
      if (typeof value !== 'string') throw schemaError(path, `expected base64 bytes, got ${describe(value)}`);
      return Buffer.from(value, 'base64');
    case 'float':
    case 'double': {
      if (value === 'NaN') return NaN;
      if (value === 'Infinity') return Infinity;
      if (value === '-Infinity') return -Infinity;
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || Number.isNaN(n)) throw schemaError(path, `expected a number, got ${describe(value)}`);
      return n;
    }
  }
  if (INT32_TYPES.has(type) || UINT32_TYPES.has(type)) {
    const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n)) throw schemaError(path, `expected an integer, got ${describe(value)}`);
    const [min, max] = UINT32_TYPES.has(type) ? [0, 4294967295] : [-2147483648, 2147483647];
    if (n < min || n > max) throw schemaError(path, `${n} is out of range for ${type}`);
    return n;
  }
  if (LONG_TYPES.has(type)) {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw schemaError(path, `expected an integer (use a string beyond 2^53), got ${value}`);
      if (UNSIGNED_LONG_TYPES.has(type) && value < 0) throw schemaError(path, `${value} is negative for ${type}`);
      return value;
    }
    if (typeof value === 'string' && /^-?\d+$/.test(value)) {
      const unsigned = UNSIGNED_LONG_TYPES.has(type);
      if (unsigned && value.startsWith('-')) throw schemaError(path, `${value} is negative for ${type}`);
      const asNumber = Number(value);
      if (Number.isSafeInteger(asNumber)) return asNumber;
      return (protobuf.util.Long as unknown as LongStatics).fromString(value, unsigned);
    }
    throw schemaError(path, `expected an integer, got ${describe(value)}`);
  }
  throw schemaError(path, `unsupported scalar type ${type}`);
}

/** google.protobuf.Duration {seconds, nanos} → "1.5s" (0, 3, 6 or 9 fractional digits, as protobuf does). */
export function durationToJson(seconds: unknown, nanos: number): string {
  const secs = BigInt(String(longToJson(seconds ?? 0, 'int64')));
  const negative = secs < 0n || nanos < 0;
  const absSecs = secs < 0n ? -secs : secs;
  const absNanos = Math.abs(nanos);
  let text = `${negative ? '-' : ''}${absSecs}`;
  if (absNanos !== 0) {
    let frac = String(absNanos).padStart(9, '0');
    if (frac.endsWith('000000')) frac = frac.slice(0, 3);
    else if (frac.endsWith('000')) frac = frac.slice(0, 6);
    text += `.${frac}`;
  }
  return `${text}s`;
}

export function durationFromJson(value: JsonValue, path: string): { seconds: number | protobuf.Long; nanos: number } {
  const match = typeof value === 'string' ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(value) : null;
  if (!match) throw schemaError(path, `expected a duration like "1.5s", got ${describe(value)}`);
  const sign = match[1] ? -1 : 1;
  const seconds = scalarFromJson('int64', (match[1] ?? '') + match[2], path) as number | protobuf.Long;
  const nanos = match[3] ? sign * Number(match[3].padEnd(9, '0')) : 0;
  return { seconds, nanos };
}

/** google.protobuf.Timestamp → RFC 3339 in UTC with the fraction protobuf would print. */
export function timestampToJson(seconds: unknown, nanos: number): string {
  const secs = Number(longToJson(seconds ?? 0, 'int64'));
  const base = new Date(secs * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  const frac = durationToJson(0, nanos).replace(/^0|s$/g, '');
  return `${base}${frac}Z`;
}

export function timestampFromJson(value: JsonValue, path: string): { seconds: number; nanos: number } {
  const match =
    typeof value === 'string' ? /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(value) : null;
  if (!match) throw schemaError(path, `expected an RFC 3339 timestamp, got ${describe(value)}`);
  const millis = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(millis)) throw schemaError(path, `invalid timestamp ${JSON.stringify(value)}`);
  return { seconds: Math.floor(millis / 1000), nanos: match[2] ? Number(match[2].padEnd(9, '0')) : 0 };
}
