/**
 * Readers for Envoy's JSON/YAML config form (proto3 JSON with snake_case names, Durations as
 * "1.5s", wrappers as plain values, Any as {"@type": …}). Every compiler uses these so that a bad
 * or unsupported field is reported with its full path, e.g.
 * `static_resources.clusters[2].lb_policy: unsupported value "CLUSTER_PROVIDED"`.
 * They run when config arrives, never per request.
 */
import { SailfinError } from '../../common/errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function configError(path: string, message: string): SailfinError {
  return new SailfinError('schema', message, { field: path });
}

export function unsupported(path: string, message: string): SailfinError {
  return new SailfinError('unsupported', message, { field: path });
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Throws naming the first field that is not in `known` (Sailfin never silently ignores config). */
export function assertKnownFields(obj: JsonObject, known: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      throw unsupported(path ? `${path}.${key}` : key, `field "${key}" is not supported by Sailfin (see docs/envoy-subset.md)`);
    }
  }
}

export function reqObject(parent: JsonObject, key: string, path: string): JsonObject {
  const v = parent[key];
  if (!isObject(v)) throw configError(join(path, key), v === undefined ? 'required field is missing' : 'must be an object');
  return v;
}

export function optObject(parent: JsonObject, key: string, path: string): JsonObject | undefined {
  const v = parent[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw configError(join(path, key), 'must be an object');
  return v;
}

export function optArray(parent: JsonObject, key: string, path: string): Json[] {
  const v = parent[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw configError(join(path, key), 'must be a list');
  return v;
}

export function reqString(parent: JsonObject, key: string, path: string): string {
  const v = parent[key];
  if (typeof v !== 'string' || v === '') throw configError(join(path, key), v === undefined ? 'required field is missing' : 'must be a non-empty string');
  return v;
}

export function optString(parent: JsonObject, key: string, path: string): string | undefined {
  const v = parent[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw configError(join(path, key), 'must be a string');
  return v;
}

export function optBool(parent: JsonObject, key: string, path: string): boolean | undefined {
  let v = parent[key];
  if (isObject(v) && 'value' in v) v = v.value; // google.protobuf.BoolValue in its object form
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw configError(join(path, key), 'must be true or false');
  return v;
}

/** Numbers, including wrappers (UInt32Value) and 64-bit ints that proto3 JSON writes as strings. */
export function optNumber(parent: JsonObject, key: string, path: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
  let v = parent[key];
  if (isObject(v) && 'value' in v) v = v.value;
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw configError(join(path, key), 'must be a number');
  if (opts.integer && !Number.isInteger(n)) throw configError(join(path, key), 'must be an integer');
  if (opts.min !== undefined && n < opts.min) throw configError(join(path, key), `must be at least ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) throw configError(join(path, key), `must be at most ${opts.max}`);
  return n;
}

/** A google.protobuf.Duration ("1.5s", "0.250s", or {seconds, nanos}) in milliseconds. */
export function optDurationMs(parent: JsonObject, key: string, path: string): number | undefined {
  const v = parent[key];
  if (v === undefined || v === null) return undefined;
  const ms = parseDurationMs(v);
  if (ms === undefined) throw configError(join(path, key), `must be a duration like "1.5s" (got ${JSON.stringify(v)})`);
  return ms;
}

export function parseDurationMs(v: unknown): number | undefined {
  if (typeof v === 'string') {
    const m = /^(-?\d+(?:\.\d+)?)s$/.exec(v.trim());
    return m ? Number(m[1]) * 1000 : undefined;
  }
  if (isObject(v)) {
    const s = Number(v.seconds ?? 0);
    const n = Number(v.nanos ?? 0);
    if (!Number.isFinite(s) || !Number.isFinite(n)) return undefined;
    return s * 1000 + n / 1e6;
  }
  return undefined;
}

/** The `@type` of an Any-valued field such as `typed_config`. */
export function typeUrlOf(any: JsonObject, path: string): string {
  const t = any['@type'];
  if (typeof t !== 'string') throw configError(join(path, '@type'), 'required field is missing');
  return t;
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}
