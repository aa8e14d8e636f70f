/**
 * Envoy's MetadataMatcher (filter, path of keys, ValueMatcher, invert) over dynamic metadata: how
 * RBAC reads what jwt_authn found (`istio_authn` → `request.auth.principal`, `request.auth.claims`).
 */
import { assertKnownFields, configError, isObject, join, optArray, optBool, reqObject, reqString, type Json, type JsonObject } from '../config/fields.js';
import { compileStringMatcher } from '../http/matchers.js';
import type { DynamicMetadata } from './subject.js';

type ValuePredicate = (v: unknown) => boolean;

export function compileMetadataMatcher(json: JsonObject, path: string): (md: DynamicMetadata | undefined) => boolean {
  assertKnownFields(json, ['filter', 'path', 'value', 'invert'], path);
  const filter = reqString(json, 'filter', path);
  const keys = optArray(json, 'path', path).map((seg, i) => {
    const p = join(join(path, 'path'), i);
    if (!isObject(seg)) throw configError(p, 'must be an object');
    assertKnownFields(seg, ['key'], p);
    return reqString(seg, 'key', p);
  });
  if (keys.length === 0) throw configError(join(path, 'path'), 'needs at least one key');
  const value = compileValueMatcher(reqObject(json, 'value', path), join(path, 'value'));
  const invert = optBool(json, 'invert', path) ?? false;
  return (md) => {
    let v: unknown = md?.[filter];
    for (let i = 0; i < keys.length && v !== undefined; i++) v = isPlainObject(v) ? v[keys[i]] : undefined;
    return value(v) !== invert;
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const VALUE_KINDS = ['null_match', 'double_match', 'string_match', 'bool_match', 'present_match', 'list_match', 'or_match'];

export function compileValueMatcher(json: Json, path: string): ValuePredicate {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, VALUE_KINDS, path);
  const kinds = VALUE_KINDS.filter((k) => json[k] !== undefined);
  if (kinds.length !== 1) throw configError(path, `needs exactly one of ${VALUE_KINDS.join(', ')}`);
  const kind = kinds[0];
  const p = join(path, kind);
  switch (kind) {
    case 'null_match':
      return (v) => v === null;
    case 'present_match': {
      const want = optBool(json, 'present_match', path) ?? false;
      return (v) => want && v !== undefined && v !== null;
    }
    case 'bool_match': {
      const want = optBool(json, 'bool_match', path);
      return (v) => v === want;
    }
    case 'string_match': {
      const m = compileStringMatcher(json.string_match, p);
      return (v) => typeof v === 'string' && m(v);
    }
    case 'double_match':
      return compileDoubleMatcher(reqObject(json, 'double_match', path), p);
    case 'list_match': {
      const lm = reqObject(json, 'list_match', path);
      assertKnownFields(lm, ['one_of'], p);
      const one = compileValueMatcher(lm.one_of ?? null, join(p, 'one_of'));
      return (v) => Array.isArray(v) && v.some(one);
    }
    default: {
      const om = reqObject(json, 'or_match', path);
      assertKnownFields(om, ['value_matchers'], p);
      const list = optArray(om, 'value_matchers', p).map((m, i) => compileValueMatcher(m, join(join(p, 'value_matchers'), i)));
      if (list.length < 2) throw configError(join(p, 'value_matchers'), 'needs at least two matchers');
      return (v) => list.some((m) => m(v));
    }
  }
}

function compileDoubleMatcher(json: JsonObject, path: string): ValuePredicate {
  assertKnownFields(json, ['exact', 'range'], path);
  if (typeof json.exact === 'number') {
    const want = json.exact;
    return (v) => typeof v === 'number' && v === want;
  }
  const r = reqObject(json, 'range', path);
  assertKnownFields(r, ['start', 'end'], join(path, 'range'));
  const start = Number(r.start ?? -Infinity);
  const end = Number(r.end ?? Infinity);
  return (v) => typeof v === 'number' && v >= start && v < end;
}
