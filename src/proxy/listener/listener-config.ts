/**
 * Compiles an Envoy Listener (static or from LDS) into what the accept path reads: its address,
 * listener filters, and filter chains with their network filters and TLS contexts built once.
 */
import {
  assertKnownFields,
  configError,
  isObject,
  join,
  optArray,
  optBool,
  optDurationMs,
  optNumber,
  optObject,
  optString,
  reqObject,
  reqString,
  typeUrlOf,
  unsupported,
  type JsonObject,
} from '../config/fields.js';
import type { ProxyContext } from '../context.js';
import { compileAccessLogs, type AccessLog } from '../stats/access-log.js';
import { DOWNSTREAM_TLS_TYPE, DownstreamTls } from '../tls/downstream-context.js';
import { parseSocketAddress, type SocketAddress } from './address.js';
import { networkFilterFactory, type NetworkFilter } from './connection.js';
import { compileChainMatch, needsInspection, type CompiledChainMatch } from './filter-chain-match.js';

export interface CompiledChain {
  readonly name: string;
  readonly filters: readonly NetworkFilter[];
  readonly tls: DownstreamTls | undefined;
}

export interface CompiledListener {
  readonly name: string;
  readonly address: SocketAddress;
  readonly bindToPort: boolean;
  readonly useOriginalDst: boolean;
  readonly chains: readonly CompiledChain[];
  readonly matches: readonly CompiledChainMatch[];
  readonly defaultChain: CompiledChain | undefined;
  readonly tlsInspector: boolean;
  readonly httpInspector: boolean;
  /** original_dst listener filter: the connection's local address is its SO_ORIGINAL_DST. */
  readonly originalDstFilter: boolean;
  /** 0 = wait forever (Envoy's meaning). */
  readonly listenerFiltersTimeoutMs: number;
  readonly continueOnListenerFiltersTimeout: boolean;
  readonly bufferLimitBytes: number;
  readonly accessLogs: readonly AccessLog[];
  readonly json: JsonObject;
}

const LISTENER_FIELDS = [
  'name', 'address', 'filter_chains', 'default_filter_chain', 'listener_filters', 'listener_filters_timeout',
  'continue_on_listener_filters_timeout', 'use_original_dst', 'bind_to_port', 'per_connection_buffer_limit_bytes',
  'traffic_direction', 'access_log', 'metadata', 'stat_prefix', 'drain_type', 'transparent', 'freebind',
];

const TLS_INSPECTOR = ['envoy.filters.listener.tls_inspector', 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector'];
const HTTP_INSPECTOR = ['envoy.filters.listener.http_inspector', 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector'];
const ORIGINAL_DST = ['envoy.filters.listener.original_dst', 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst'];

/** Envoy's default per-connection buffer limit (1 MiB). */
const DEFAULT_BUFFER_LIMIT = 1024 * 1024;
/** Envoy's default listener_filters_timeout. */
const DEFAULT_FILTERS_TIMEOUT_MS = 15_000;

function compileChain(json: JsonObject, ctx: ProxyContext, path: string, fallbackName: string): CompiledChain {
  assertKnownFields(json, ['name', 'filter_chain_match', 'filters', 'transport_socket', 'metadata', 'transport_socket_connect_timeout'], path);
  let tls: DownstreamTls | undefined;
  const ts = optObject(json, 'transport_socket', path);
  if (ts) {
    const tp = join(path, 'transport_socket');
    assertKnownFields(ts, ['name', 'typed_config'], tp);
    const typed = reqObject(ts, 'typed_config', tp);
    const type = typeUrlOf(typed, join(tp, 'typed_config'));
    if (type === DOWNSTREAM_TLS_TYPE) tls = new DownstreamTls(typed, ctx.secrets, join(tp, 'typed_config'));
    else if (type !== 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer') {
      throw unsupported(join(join(tp, 'typed_config'), '@type'), `transport socket ${JSON.stringify(type)} is not supported on listeners`);
    }
  }
  const filters = optArray(json, 'filters', path).map((f, i) => {
    const fp = join(join(path, 'filters'), i);
    if (!isObject(f)) throw configError(fp, 'must be an object');
    assertKnownFields(f, ['name', 'typed_config'], fp);
    const typed = reqObject(f, 'typed_config', fp);
    const type = typeUrlOf(typed, join(fp, 'typed_config'));
    const factory = networkFilterFactory(type);
    if (!factory) throw unsupported(join(join(fp, 'typed_config'), '@type'), `network filter ${JSON.stringify(type)} is not supported by Sailfin (see docs/envoy-subset.md)`);
    return factory(typed, ctx, join(fp, 'typed_config'));
  });
  if (filters.length === 0) throw configError(join(path, 'filters'), 'a filter chain needs at least one network filter');
  return { name: optString(json, 'name', path) ?? fallbackName, filters, tls };
}

function compileListenerFilters(json: JsonObject, path: string): { tls: boolean; http: boolean; originalDst: boolean } {
  const out = { tls: false, http: false, originalDst: false };
  optArray(json, 'listener_filters', path).forEach((f, i) => {
    const fp = join(join(path, 'listener_filters'), i);
    if (!isObject(f)) throw configError(fp, 'must be an object');
    assertKnownFields(f, ['name', 'typed_config'], fp);
    const typed = optObject(f, 'typed_config', fp);
    const id = typed ? typeUrlOf(typed, join(fp, 'typed_config')) : reqString(f, 'name', fp);
    if (TLS_INSPECTOR.includes(id)) out.tls = true;
    else if (HTTP_INSPECTOR.includes(id)) out.http = true;
    else if (ORIGINAL_DST.includes(id)) out.originalDst = true;
    else throw unsupported(typed ? join(join(fp, 'typed_config'), '@type') : join(fp, 'name'), `listener filter ${JSON.stringify(id)} is not supported (tls_inspector, http_inspector and original_dst are)`);
    if (typed) assertKnownFields(typed, ['@type'], join(fp, 'typed_config'));
  });
  return out;
}

/** Compiles one Listener; throws SailfinError naming the bad field (the running listener stays as it was). */
export function compileListener(json: JsonObject, ctx: ProxyContext, path: string): CompiledListener {
  assertKnownFields(json, LISTENER_FIELDS, path);
  const name = reqString(json, 'name', path);
  const address = parseSocketAddress(reqObject(json, 'address', path), join(path, 'address'));
  const lf = compileListenerFilters(json, path);
  const chainJsons = optArray(json, 'filter_chains', path);
  const chains: CompiledChain[] = [];
  const matches: CompiledChainMatch[] = [];
  chainJsons.forEach((c, i) => {
    const cp = join(join(path, 'filter_chains'), i);
    if (!isObject(c)) throw configError(cp, 'must be an object');
    matches.push(compileChainMatch(optObject(c, 'filter_chain_match', cp), join(cp, 'filter_chain_match')));
    chains.push(compileChain(c, ctx, cp, `${name}-chain-${i}`));
  });
  const defJson = optObject(json, 'default_filter_chain', path);
  const defaultChain = defJson ? compileChain(defJson, ctx, join(path, 'default_filter_chain'), `${name}-default`) : undefined;
  if (chains.length === 0 && !defaultChain) throw configError(join(path, 'filter_chains'), 'a listener needs filter_chains or a default_filter_chain');
  if (needsInspection(matches) && !lf.tls && !lf.http) {
    // Envoy accepts this but such chains can never match; say so instead of silently dropping traffic.
    const i = matches.findIndex((m) => m.serverNames.length > 0 || m.transportProtocol === 'tls');
    if (i >= 0) throw configError(join(join(join(path, 'filter_chains'), i), 'filter_chain_match'), 'matching on server_names or transport_protocol "tls" needs the envoy.filters.listener.tls_inspector listener filter');
  }
  const bindToPort = optBool(json, 'bind_to_port', path) ?? true;
  return {
    name,
    address,
    bindToPort,
    useOriginalDst: optBool(json, 'use_original_dst', path) ?? false,
    chains,
    matches,
    defaultChain,
    tlsInspector: lf.tls,
    httpInspector: lf.http,
    originalDstFilter: lf.originalDst,
    listenerFiltersTimeoutMs: optDurationMs(json, 'listener_filters_timeout', path) ?? DEFAULT_FILTERS_TIMEOUT_MS,
    continueOnListenerFiltersTimeout: optBool(json, 'continue_on_listener_filters_timeout', path) ?? false,
    bufferLimitBytes: optNumber(json, 'per_connection_buffer_limit_bytes', path, { min: 1, integer: true }) ?? DEFAULT_BUFFER_LIMIT,
    accessLogs: compileAccessLogs(json.access_log, ctx, join(path, 'access_log')),
    json,
  };
}

/** Tells every filter of a compiled listener to drain, and releases its secret subscriptions. */
export function drainCompiled(l: CompiledListener): void {
  for (const c of [...l.chains, ...(l.defaultChain ? [l.defaultChain] : [])]) {
    for (const f of c.filters) {
      try {
        f.drain?.();
      } catch {
        // Draining is best effort; the drain timer closes what is left.
      }
    }
    c.tls?.close();
  }
}
