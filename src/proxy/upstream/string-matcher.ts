/**
 * Envoy's StringMatcher (exact, prefix, suffix, contains, safe_regex; ignore_case), compiled once
 * into a predicate. Used for upstream certificate SAN matching, where it runs once per handshake.
 */
import { type Json, assertKnownFields, configError, isObject, join, optBool, optString, reqObject, reqString } from '../config/fields.js';

export type StringPredicate = (value: string) => boolean;

export function compileStringMatcher(json: Json | undefined, path: string): StringPredicate {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, ['exact', 'prefix', 'suffix', 'contains', 'safe_regex', 'ignore_case'], path);
  const ignoreCase = optBool(json, 'ignore_case', path) ?? false;
  const norm = (s: string): string => (ignoreCase ? s.toLowerCase() : s);
  const kinds = ['exact', 'prefix', 'suffix', 'contains', 'safe_regex'].filter((k) => json[k] !== undefined);
  if (kinds.length !== 1) throw configError(path, 'needs exactly one of exact, prefix, suffix, contains, safe_regex');
  const kind = kinds[0];
  if (kind === 'safe_regex') {
    const rPath = join(path, 'safe_regex');
    const re = reqObject(json, 'safe_regex', path);
    assertKnownFields(re, ['regex', 'google_re2'], rPath);
    const source = reqString(re, 'regex', rPath);
    let compiled: RegExp;
    try {
      // RE2 matches the whole value; anchoring keeps JS's search semantics the same.
      compiled = new RegExp(`^(?:${source})$`, ignoreCase ? 'i' : '');
    } catch (err) {
      throw configError(join(rPath, 'regex'), `invalid regular expression: ${(err as Error).message}`);
    }
    return (v) => compiled.test(v);
  }
  const want = norm(optString(json, kind, path) ?? '');
  switch (kind) {
    case 'exact':
      return (v) => norm(v) === want;
    case 'prefix':
      return (v) => norm(v).startsWith(want);
    case 'suffix':
      return (v) => norm(v).endsWith(want);
    default:
      return (v) => norm(v).includes(want);
  }
}
