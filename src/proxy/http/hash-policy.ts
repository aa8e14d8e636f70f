/**
 * A route's hash_policy list → one function computing LbContext.hash for RING_HASH / MAGLEV
 * clusters. Policies are tried in order; hashes combine; a `terminal` policy that produced a hash
 * stops the walk (Envoy's rules). A cookie policy with a TTL makes the proxy mint the cookie when the
 * request has none, returned to the client with Set-Cookie so later requests stick.
 */
import { randomBytes } from 'node:crypto';
import { assertKnownFields, configError, isObject, join, optArray, optBool, optDurationMs, optObject, optString, type JsonObject } from '../config/fields.js';
import type { HeaderList } from './headers.js';
import { parseQuery } from './matchers.js';

/** 32-bit FNV-1a: cheap, stable across processes, good enough to spread keys on a ring. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface HashInput {
  readonly headers: HeaderList;
  readonly path: string;
  readonly remoteAddress: string;
}

export interface HashResult {
  hash: number | undefined;
  /** A Set-Cookie value to add to the response, when a cookie was minted. */
  setCookie?: string;
}

type OnePolicy = { terminal: boolean; compute(input: HashInput, out: HashResult): number | undefined };

function cookieValue(headers: HeaderList, name: string): string | undefined {
  const raw = headers.getJoined('cookie');
  if (!raw) return undefined;
  for (const part of raw.split(/;\s*|,\s*/)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      let v = part.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
  }
  return undefined;
}

function compileOne(json: JsonObject, path: string): OnePolicy {
  assertKnownFields(json, ['header', 'cookie', 'connection_properties', 'query_parameter', 'terminal'], path);
  const terminal = optBool(json, 'terminal', path) ?? false;
  const header = optObject(json, 'header', path);
  if (header) {
    assertKnownFields(header, ['header_name'], join(path, 'header'));
    const name = (optString(header, 'header_name', join(path, 'header')) ?? '').toLowerCase();
    if (!name) throw configError(join(join(path, 'header'), 'header_name'), 'required field is missing');
    return { terminal, compute: (i) => maybeHash(i.headers.getJoined(name)) };
  }
  const cookie = optObject(json, 'cookie', path);
  if (cookie) {
    const cp = join(path, 'cookie');
    assertKnownFields(cookie, ['name', 'ttl', 'path', 'attributes'], cp);
    const name = optString(cookie, 'name', cp);
    if (!name) throw configError(join(cp, 'name'), 'required field is missing');
    const ttlMs = optDurationMs(cookie, 'ttl', cp);
    const cookiePath = optString(cookie, 'path', cp);
    return {
      terminal,
      compute(i, out) {
        const v = cookieValue(i.headers, name);
        if (v !== undefined) return hashString(v);
        if (ttlMs === undefined) return undefined;
        const minted = randomBytes(8).toString('hex');
        let sc = `${name}="${minted}"`;
        if (ttlMs > 0) sc += `; Max-Age=${Math.floor(ttlMs / 1000)}`;
        if (cookiePath) sc += `; Path=${cookiePath}`;
        out.setCookie = sc + '; HttpOnly';
        return hashString(minted);
      },
    };
  }
  const conn = optObject(json, 'connection_properties', path);
  if (conn) {
    assertKnownFields(conn, ['source_ip'], join(path, 'connection_properties'));
    if (optBool(conn, 'source_ip', join(path, 'connection_properties')) !== true) {
      throw configError(join(join(path, 'connection_properties'), 'source_ip'), 'must be true');
    }
    return { terminal, compute: (i) => hashString(i.remoteAddress) };
  }
  const qp = optObject(json, 'query_parameter', path);
  if (qp) {
    assertKnownFields(qp, ['name'], join(path, 'query_parameter'));
    const name = optString(qp, 'name', join(path, 'query_parameter'));
    if (!name) throw configError(join(join(path, 'query_parameter'), 'name'), 'required field is missing');
    return { terminal, compute: (i) => maybeHash(parseQuery(i.path).get(name)) };
  }
  throw configError(path, 'needs one of header, cookie, connection_properties, query_parameter');
}

function maybeHash(v: string | undefined): number | undefined {
  return v === undefined ? undefined : hashString(v);
}

export type HashPolicy = (input: HashInput) => HashResult;

export function compileHashPolicies(route: JsonObject, path: string): HashPolicy | undefined {
  const list = optArray(route, 'hash_policy', path);
  if (list.length === 0) return undefined;
  const policies = list.map((p, i) => {
    if (!isObject(p)) throw configError(join(join(path, 'hash_policy'), i), 'must be an object');
    return compileOne(p, join(join(path, 'hash_policy'), i));
  });
  return (input) => {
    const out: HashResult = { hash: undefined };
    for (const p of policies) {
      const h = p.compute(input, out);
      if (h === undefined) continue;
      // Envoy combines successive hashes by rotating the previous one left and xoring.
      out.hash = out.hash === undefined ? h : (((out.hash << 1) | (out.hash >>> 31)) ^ h) >>> 0;
      if (p.terminal) break;
    }
    return out;
  };
}
