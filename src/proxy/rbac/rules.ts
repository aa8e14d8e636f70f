/**
 * Envoy RBAC Permission ("what": ports, IPs, SNI, headers, paths) and Principal ("who": peer
 * identity, source IPs, headers, metadata) trees compiled into predicates once per config, with
 * and/or/not combinators. A field Sailfin cannot evaluate is refused by name rather than ignored,
 * because an ignored condition would silently widen or narrow access.
 */
import { assertKnownFields, configError, isObject, join, optArray, optBool, optNumber, reqObject, type Json, type JsonObject } from '../config/fields.js';
import { compileHeaderMatcher, compileStringMatcher, type RouteRequest } from '../http/matchers.js';
import { cidrContains, parseCidr } from '../listener/cidr.js';
import { compileMetadataMatcher } from './metadata-matcher.js';
import { clientIpBytes, localIpBytes, peerNames, remoteIpBytes, type RbacMatcher } from './subject.js';

const PERMISSION_KINDS = ['and_rules', 'or_rules', 'any', 'header', 'url_path', 'destination_ip', 'destination_port', 'destination_port_range', 'metadata', 'not_rule', 'requested_server_name', 'matcher', 'uri_template'];
const PRINCIPAL_KINDS = ['and_ids', 'or_ids', 'any', 'authenticated', 'source_ip', 'direct_remote_ip', 'remote_ip', 'header', 'url_path', 'metadata', 'filter_state', 'not_id'];

/** Header matchers run against the request; on a TCP connection there is none, so every header is absent. */
const NO_REQUEST = { method: undefined, path: undefined, host: undefined, scheme: undefined, headers: { getJoined: () => undefined, get: () => undefined } } as unknown as RouteRequest;

function oneKind(json: Json, kinds: readonly string[], path: string): [string, JsonObject] {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, kinds, path);
  const present = kinds.filter((k) => json[k] !== undefined);
  if (present.length !== 1) throw configError(path, `needs exactly one of ${kinds.join(', ')} (got ${present.join(', ') || 'none'})`);
  return [present[0], json];
}

function compileSet(json: JsonObject, key: string, listKey: string, path: string, each: (j: Json, p: string) => RbacMatcher): RbacMatcher[] {
  const set = reqObject(json, key, path);
  const p = join(path, key);
  assertKnownFields(set, [listKey], p);
  const items = optArray(set, listKey, p);
  if (items.length === 0) throw configError(join(p, listKey), 'needs at least one entry');
  return items.map((j, i) => each(j, join(join(p, listKey), i)));
}

function and(list: RbacMatcher[]): RbacMatcher {
  if (list.length === 1) return list[0];
  return (c, r, m) => {
    for (let i = 0; i < list.length; i++) if (!list[i](c, r, m)) return false;
    return true;
  };
}

function or(list: RbacMatcher[]): RbacMatcher {
  if (list.length === 1) return list[0];
  return (c, r, m) => {
    for (let i = 0; i < list.length; i++) if (list[i](c, r, m)) return true;
    return false;
  };
}

function anyTrue(json: JsonObject, path: string): RbacMatcher {
  if (optBool(json, 'any', path) !== true) throw configError(join(path, 'any'), 'must be true');
  return () => true;
}

function header(json: JsonObject, path: string): RbacMatcher {
  const h = compileHeaderMatcher(json.header, join(path, 'header'));
  return (_c, r) => h(r ?? NO_REQUEST);
}

/** PathMatcher: the :path without query string or fragment; never matches a TCP connection. */
function urlPath(json: JsonObject, path: string): RbacMatcher {
  const pm = reqObject(json, 'url_path', path);
  const p = join(path, 'url_path');
  assertKnownFields(pm, ['path'], p);
  const m = compileStringMatcher(pm.path, join(p, 'path'));
  return (_c, r) => {
    const full = r?.path;
    return full !== undefined && m(pathOnly(full));
  };
}

// Policies often hold many path rules; the last request's stripped path is kept so it is cut once.
let lastFull = '';
let lastPath = '';

function pathOnly(full: string): string {
  if (full === lastFull) return lastPath;
  let end = full.indexOf('?');
  const hash = full.indexOf('#');
  if (hash >= 0 && (end < 0 || hash < end)) end = hash;
  lastFull = full;
  lastPath = end < 0 ? full : full.slice(0, end);
  return lastPath;
}

function metadata(json: JsonObject, path: string): RbacMatcher {
  const m = compileMetadataMatcher(reqObject(json, 'metadata', path), join(path, 'metadata'));
  return (_c, _r, md) => m(md);
}

interface Combinators {
  and: string;
  or: string;
  not: string;
  list: string;
}

const PERMISSION_COMBINATORS: Combinators = { and: 'and_rules', or: 'or_rules', not: 'not_rule', list: 'rules' };
const PRINCIPAL_COMBINATORS: Combinators = { and: 'and_ids', or: 'or_ids', not: 'not_id', list: 'ids' };

/** Kinds shared by permissions and principals; undefined when `kind` is specific to one of them. */
function compileCommon(
  kind: string,
  obj: JsonObject,
  path: string,
  names: Combinators,
  self: (j: Json, p: string) => RbacMatcher,
): RbacMatcher | undefined {
  switch (kind) {
    case names.and:
      return and(compileSet(obj, kind, names.list, path, self));
    case names.or:
      return or(compileSet(obj, kind, names.list, path, self));
    case 'any':
      return anyTrue(obj, path);
    case 'header':
      return header(obj, path);
    case 'url_path':
      return urlPath(obj, path);
    case 'metadata':
      return metadata(obj, path);
    case names.not: {
      const inner = self(obj[kind], join(path, kind));
      return (c, r, m) => !inner(c, r, m);
    }
    default:
      return undefined;
  }
}

export function compilePermission(json: Json, path: string): RbacMatcher {
  const [kind, obj] = oneKind(json, PERMISSION_KINDS, path);
  const p = join(path, kind);
  const shared = compileCommon(kind, obj, path, PERMISSION_COMBINATORS, compilePermission);
  if (shared) return shared;
  switch (kind) {
    case 'destination_ip': {
      const cidr = parseCidr(reqObject(obj, kind, path), p);
      return (c) => cidrContains(cidr, localIpBytes(c));
    }
    case 'destination_port': {
      const port = optNumber(obj, kind, path, { min: 0, max: 65535, integer: true });
      return (c) => c.localPort === port;
    }
    case 'destination_port_range': {
      const range = reqObject(obj, kind, path);
      assertKnownFields(range, ['start', 'end'], p);
      const start = optNumber(range, 'start', p, { integer: true }) ?? 0;
      const end = optNumber(range, 'end', p, { integer: true }) ?? 0;
      return (c) => c.localPort >= start && c.localPort < end;
    }
    case 'requested_server_name': {
      const m = compileStringMatcher(obj.requested_server_name, p);
      return (c) => m(c.serverName ?? '');
    }
    default:
      throw configError(p, `RBAC permission "${kind}" is not supported by Sailfin`);
  }
}

export function compilePrincipal(json: Json, path: string): RbacMatcher {
  const [kind, obj] = oneKind(json, PRINCIPAL_KINDS, path);
  const p = join(path, kind);
  const shared = compileCommon(kind, obj, path, PRINCIPAL_COMBINATORS, compilePrincipal);
  if (shared) return shared;
  switch (kind) {
    case 'authenticated':
      return authenticated(reqObject(obj, kind, path), p);
    case 'source_ip':
    case 'direct_remote_ip': {
      const cidr = parseCidr(reqObject(obj, kind, path), p);
      return (c) => cidrContains(cidr, remoteIpBytes(c));
    }
    case 'remote_ip': {
      const cidr = parseCidr(reqObject(obj, kind, path), p);
      return (c, r) => cidrContains(cidr, clientIpBytes(c, r));
    }
    default:
      throw configError(p, `RBAC principal "${kind}" is not supported by Sailfin`);
  }
}

/**
 * The mTLS peer: without a client certificate nothing matches; `principal_name` is tried against
 * every URI SAN, then every DNS SAN, then the subject, as Envoy does.
 */
function authenticated(json: JsonObject, path: string): RbacMatcher {
  assertKnownFields(json, ['principal_name'], path);
  if (json.principal_name === undefined) return (c) => peerNames(c) !== undefined;
  const m = compileStringMatcher(json.principal_name, join(path, 'principal_name'));
  return (c) => {
    const names = peerNames(c);
    if (!names) return false;
    for (const u of names.uris) if (m(u)) return true;
    for (const d of names.dns) if (m(d)) return true;
    return m(names.subject);
  };
}
