/**
 * Envoy's StringMatcher, HeaderMatcher and QueryParameterMatcher compiled into predicates at config
 * time; a request only runs the predicates.
 */
import { assertKnownFields, configError, isObject, join, optBool, optObject, optString, type Json, type JsonObject } from '../config/fields.js';
import type { HeaderList } from './headers.js';
import { compileSafeRegex } from './regex.js';

export type StringPredicate = (value: string) => boolean;

/** The parts of a request that route matching looks at. */
export interface RouteRequest {
  readonly method: string;
  /** :path as received, with the query string. */
  readonly path: string;
  readonly host: string; // lower-case :authority
  readonly scheme: string;
  readonly headers: HeaderList;
}

export function compileStringMatcher(json: Json | undefined, path: string): StringPredicate {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, ['exact', 'prefix', 'suffix', 'contains', 'safe_regex', 'ignore_case'], path);
  const ignoreCase = optBool(json, 'ignore_case', path) ?? false;
  const kinds = ['exact', 'prefix', 'suffix', 'contains', 'safe_regex'].filter((k) => json[k] !== undefined);
  if (kinds.length !== 1) throw configError(path, `needs exactly one of exact, prefix, suffix, contains, safe_regex (got ${kinds.join(', ') || 'none'})`);
  const kind = kinds[0];
  if (kind === 'safe_regex') {
    // Envoy ignores ignore_case for safe_regex (RE2 spells it (?i)).
    const re = compileSafeRegexMatcher(json.safe_regex, join(path, 'safe_regex'));
    return (v) => re.test(v);
  }
  const raw = optString(json, kind, path) ?? '';
  const want = ignoreCase ? raw.toLowerCase() : raw;
  const norm = ignoreCase ? (v: string) => v.toLowerCase() : (v: string) => v;
  switch (kind) {
    case 'exact':
      return ignoreCase ? (v) => norm(v) === want : (v) => v === want;
    case 'prefix':
      return (v) => norm(v).startsWith(want);
    case 'suffix':
      return (v) => norm(v).endsWith(want);
    default:
      return (v) => norm(v).includes(want);
  }
}

/** `{regex, google_re2?}` (RegexMatcher). */
export function compileSafeRegexMatcher(json: Json | undefined, path: string): RegExp {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, ['regex', 'google_re2'], path);
  const regex = optString(json, 'regex', path);
  if (regex === undefined) throw configError(join(path, 'regex'), 'required field is missing');
  return compileSafeRegex(regex, join(path, 'regex'));
}

export type RequestPredicate = (req: RouteRequest) => boolean;

/** Pseudo-headers are read from the request line rather than the header list. */
function headerReader(name: string): (req: RouteRequest) => string | undefined {
  switch (name) {
    case ':method':
      return (r) => r.method;
    case ':path':
      return (r) => r.path;
    case ':authority':
    case 'host':
      return (r) => r.host;
    case ':scheme':
      return (r) => r.scheme;
    default:
      return (r) => r.headers.getJoined(name);
  }
}

const HEADER_MATCHER_FIELDS = [
  'name', 'exact_match', 'safe_regex_match', 'range_match', 'present_match', 'prefix_match', 'suffix_match', 'contains_match',
  'string_match', 'invert_match', 'treat_missing_header_as_empty',
];

export function compileHeaderMatcher(json: Json, path: string): RequestPredicate {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, HEADER_MATCHER_FIELDS, path);
  const name = optString(json, 'name', path);
  if (!name) throw configError(join(path, 'name'), 'required field is missing');
  const read = headerReader(name.toLowerCase());
  const invert = optBool(json, 'invert_match', path) ?? false;
  const missingAsEmpty = optBool(json, 'treat_missing_header_as_empty', path) ?? false;
  let test: (v: string | undefined) => boolean;
  if (json.exact_match !== undefined) {
    const want = optString(json, 'exact_match', path);
    test = (v) => v === want;
  } else if (json.prefix_match !== undefined) {
    const want = optString(json, 'prefix_match', path) ?? '';
    test = (v) => v !== undefined && v.startsWith(want);
  } else if (json.suffix_match !== undefined) {
    const want = optString(json, 'suffix_match', path) ?? '';
    test = (v) => v !== undefined && v.endsWith(want);
  } else if (json.contains_match !== undefined) {
    const want = optString(json, 'contains_match', path) ?? '';
    test = (v) => v !== undefined && v.includes(want);
  } else if (json.safe_regex_match !== undefined) {
    const re = compileSafeRegexMatcher(json.safe_regex_match, join(path, 'safe_regex_match'));
    test = (v) => v !== undefined && re.test(v);
  } else if (json.string_match !== undefined) {
    const p = compileStringMatcher(json.string_match, join(path, 'string_match'));
    test = (v) => v !== undefined && p(v);
  } else if (json.range_match !== undefined) {
    const r = optObject(json, 'range_match', path)!;
    assertKnownFields(r, ['start', 'end'], join(path, 'range_match'));
    const start = Number(r.start ?? 0);
    const end = Number(r.end ?? 0);
    test = (v) => v !== undefined && /^-?\d+$/.test(v) && Number(v) >= start && Number(v) < end;
  } else {
    // present_match, or no matcher at all: Envoy treats both as "the header is present".
    const present = json.present_match === undefined ? true : optBool(json, 'present_match', path) !== false;
    test = present ? (v) => v !== undefined : (v) => v === undefined;
  }
  return (req) => {
    let v = read(req);
    if (v === undefined && missingAsEmpty) v = '';
    return test(v) !== invert;
  };
}

/** Decoded query parameters (first value wins, as in Envoy). */
export function parseQuery(path: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = path.indexOf('?');
  if (q < 0) return out;
  const end = path.indexOf('#', q);
  for (const part of path.slice(q + 1, end < 0 ? undefined : end).split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = safeDecode(eq < 0 ? part : part.slice(0, eq));
    if (!out.has(k)) out.set(k, eq < 0 ? '' : safeDecode(part.slice(eq + 1)));
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export type QueryPredicate = (query: Map<string, string>) => boolean;

export function compileQueryMatcher(json: Json, path: string): QueryPredicate {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, ['name', 'string_match', 'present_match'], path);
  const name = optString(json, 'name', path);
  if (!name) throw configError(join(path, 'name'), 'required field is missing');
  if (json.string_match !== undefined) {
    const p = compileStringMatcher(json.string_match, join(path, 'string_match'));
    return (q) => {
      const v = q.get(name);
      return v !== undefined && p(v);
    };
  }
  return (q) => q.has(name);
}

export function isJsonObject(v: unknown): v is JsonObject {
  return isObject(v);
}
