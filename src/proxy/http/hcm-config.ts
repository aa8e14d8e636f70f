/**
 * HttpConnectionManager typed_config → a compiled HcmConfig, once per filter chain. Everything a
 * stream reads per request (filters, limits, header policies, stats objects) is precomputed here.
 */
import { assertKnownFields, configError, isObject, join, optArray, optBool, optDurationMs, optNumber, optObject, optString, reqString, typeUrlOf, unsupported, type JsonObject } from '../config/fields.js';
import type { ProxyContext, RouteConfigHandle } from '../context.js';
import { compileAccessLogs, type AccessLog } from '../stats/access-log.js';
import type { Counter, Gauge, Histogram } from '../stats/store.js';
import { httpFilterFactory } from './filter-registry.js';
import type { HttpFilter } from './http-filter.js';
import { compileUpgradeConfigs } from './route-action.js';
import { compileRouteConfiguration, type CompiledRouteConfig } from './route-config.js';
import { compileTracing, type HttpTracer } from '../tracing/tracing-config.js';

export interface HcmStats {
  downstream_cx_total: Counter;
  downstream_cx_active: Gauge;
  downstream_cx_http1_total: Counter;
  downstream_cx_http2_total: Counter;
  downstream_cx_destroy: Counter;
  downstream_cx_protocol_error: Counter;
  downstream_rq_total: Counter;
  downstream_rq_active: Gauge;
  downstream_rq_http1_total: Counter;
  downstream_rq_http2_total: Counter;
  downstream_rq_1xx: Counter;
  downstream_rq_2xx: Counter;
  downstream_rq_3xx: Counter;
  downstream_rq_4xx: Counter;
  downstream_rq_5xx: Counter;
  downstream_rq_timeout: Counter;
  downstream_rq_idle_timeout: Counter;
  downstream_rq_header_timeout: Counter;
  downstream_rq_rx_reset: Counter;
  downstream_rq_too_large: Counter;
  downstream_rq_ws_on_non_ws_route: Counter;
  downstream_cx_upgrades_total: Counter;
  no_route: Counter;
  no_cluster: Counter;
  rq_direct_response: Counter;
  rq_redirect: Counter;
  downstream_rq_time: Histogram;
}

export type ForwardClientCert = 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';

export interface HcmConfig {
  readonly statPrefix: string;
  readonly stats: HcmStats;
  /** Inline route_config, or the RDS handle read per new stream. */
  readonly staticRoutes?: CompiledRouteConfig;
  readonly rds?: RouteConfigHandle;
  readonly filters: readonly HttpFilter[];
  readonly codecType: 'AUTO' | 'HTTP1' | 'HTTP2';
  readonly generateRequestId: boolean;
  readonly preserveExternalRequestId: boolean;
  readonly alwaysSetRequestIdInResponse: boolean;
  readonly useRemoteAddress: boolean;
  readonly skipXffAppend: boolean;
  readonly xffNumTrustedHops: number;
  readonly serverName: string;
  readonly serverHeaderTransformation: 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
  readonly accessLogs: readonly AccessLog[];
  /** 0 disables. */
  readonly streamIdleTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly requestHeadersTimeoutMs: number;
  readonly connectionIdleTimeoutMs: number;
  readonly maxRequestsPerConnection: number;
  readonly drainTimeoutMs: number;
  readonly maxRequestHeadersBytes: number;
  readonly maxHeadersCount: number;
  readonly upgrades: ReadonlyMap<string, boolean>;
  readonly stripAnyHostPort: boolean;
  readonly mergeSlashes: boolean;
  readonly normalizePath: boolean;
  readonly forwardClientCert: ForwardClientCert;
  readonly setCurrentClientCert: { subject: boolean; uri: boolean; dns: boolean; cert: boolean; chain: boolean };
  readonly via?: string;
  /** The `tracing` block; undefined when absent, so streams do no tracing work. */
  readonly tracer?: HttpTracer;
}

const HCM_FIELDS = [
  '@type', 'stat_prefix', 'codec_type', 'route_config', 'rds', 'http_filters', 'access_log', 'generate_request_id',
  'preserve_external_request_id', 'always_set_request_id_in_response', 'use_remote_address', 'skip_xff_append',
  'xff_num_trusted_hops', 'server_name', 'server_header_transformation', 'stream_idle_timeout', 'request_timeout',
  'request_headers_timeout', 'drain_timeout', 'delayed_close_timeout', 'common_http_protocol_options', 'http_protocol_options',
  'http2_protocol_options', 'max_request_headers_kb', 'upgrade_configs', 'strip_any_host_port', 'merge_slashes', 'normalize_path',
  'path_with_escaped_slashes_action', 'forward_client_cert_details', 'set_current_client_cert_details', 'tracing',
  'request_id_extension', 'internal_address_config', 'via', 'add_user_agent', 'local_reply_config', 'stream_error_on_invalid_http_message',
];

/** Default cut-off for a client that never finishes its request headers (Envoy's default is none). */
export const DEFAULT_REQUEST_HEADERS_TIMEOUT_MS = 10_000;

function compileStats(ctx: ProxyContext, prefix: string): HcmStats {
  const s = ctx.stats;
  const p = `http.${prefix}.`;
  const c = (n: string) => s.counter(p + n);
  return {
    downstream_cx_total: c('downstream_cx_total'),
    downstream_cx_active: s.gauge(p + 'downstream_cx_active'),
    downstream_cx_http1_total: c('downstream_cx_http1_total'),
    downstream_cx_http2_total: c('downstream_cx_http2_total'),
    downstream_cx_destroy: c('downstream_cx_destroy'),
    downstream_cx_protocol_error: c('downstream_cx_protocol_error'),
    downstream_rq_total: c('downstream_rq_total'),
    downstream_rq_active: s.gauge(p + 'downstream_rq_active'),
    downstream_rq_http1_total: c('downstream_rq_http1_total'),
    downstream_rq_http2_total: c('downstream_rq_http2_total'),
    downstream_rq_1xx: c('downstream_rq_1xx'),
    downstream_rq_2xx: c('downstream_rq_2xx'),
    downstream_rq_3xx: c('downstream_rq_3xx'),
    downstream_rq_4xx: c('downstream_rq_4xx'),
    downstream_rq_5xx: c('downstream_rq_5xx'),
    downstream_rq_timeout: c('downstream_rq_timeout'),
    downstream_rq_idle_timeout: c('downstream_rq_idle_timeout'),
    downstream_rq_header_timeout: c('downstream_rq_header_timeout'),
    downstream_rq_rx_reset: c('downstream_rq_rx_reset'),
    downstream_rq_too_large: c('downstream_rq_too_large'),
    downstream_rq_ws_on_non_ws_route: c('downstream_rq_ws_on_non_ws_route'),
    downstream_cx_upgrades_total: c('downstream_cx_upgrades_total'),
    no_route: c('no_route'),
    no_cluster: c('no_cluster'),
    rq_direct_response: c('rq_direct_response'),
    rq_redirect: c('rq_redirect'),
    downstream_rq_time: s.histogram(p + 'downstream_rq_time'),
  };
}

function compileFilters(list: unknown[], ctx: ProxyContext, path: string): HttpFilter[] {
  const out: HttpFilter[] = [];
  // Names may repeat, as Envoy allows: Istio's DENY and ALLOW policies are both `envoy.filters.http.rbac`.
  list.forEach((f, i) => {
    const p = join(path, i);
    if (!isObject(f)) throw configError(p, 'must be an object');
    assertKnownFields(f, ['name', 'typed_config', 'disabled', 'is_optional'], p);
    const name = reqString(f, 'name', p);
    const typed = optObject(f, 'typed_config', p);
    if (!typed) throw configError(join(p, 'typed_config'), 'required field is missing');
    const type = typeUrlOf(typed, join(p, 'typed_config'));
    const factory = httpFilterFactory(type);
    if (!factory) {
      if (optBool(f, 'is_optional', p)) return;
      throw unsupported(join(join(p, 'typed_config'), '@type'), `HTTP filter ${JSON.stringify(type)} is not supported by Sailfin`);
    }
    if (optBool(f, 'disabled', p)) throw unsupported(join(p, 'disabled'), 'disabled filters are not supported by Sailfin');
    out.push(factory(typed, ctx, join(p, 'typed_config'), name));
  });
  if (out.length === 0 || !out[out.length - 1].terminal) throw configError(path, 'the last HTTP filter must be a terminal filter (envoy.filters.http.router)');
  for (let i = 0; i < out.length - 1; i++) if (out[i].terminal) throw configError(join(path, i), 'a terminal filter must be the last one');
  return out;
}

function forwardClientCert(json: JsonObject, path: string): ForwardClientCert {
  const v = optString(json, 'forward_client_cert_details', path) ?? 'SANITIZE';
  const ok: ForwardClientCert[] = ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'];
  if (!ok.includes(v as ForwardClientCert)) throw configError(join(path, 'forward_client_cert_details'), `unsupported value ${JSON.stringify(v)}`);
  return v as ForwardClientCert;
}

export function compileHcm(json: JsonObject, ctx: ProxyContext, path: string): HcmConfig {
  assertKnownFields(json, HCM_FIELDS, path);
  const statPrefix = reqString(json, 'stat_prefix', path);
  const codecType = (optString(json, 'codec_type', path) ?? 'AUTO') as HcmConfig['codecType'];
  if (!['AUTO', 'HTTP1', 'HTTP2'].includes(codecType)) throw unsupported(join(path, 'codec_type'), `unsupported value ${JSON.stringify(codecType)}`);
  const routeJson = optObject(json, 'route_config', path);
  const rdsJson = optObject(json, 'rds', path);
  if (!!routeJson === !!rdsJson) throw configError(path, 'needs exactly one of route_config, rds');
  let rds: RouteConfigHandle | undefined;
  if (rdsJson) {
    const rp = join(path, 'rds');
    assertKnownFields(rdsJson, ['route_config_name', 'config_source'], rp);
    rds = ctx.routes.subscribe(reqString(rdsJson, 'route_config_name', rp));
  }
  const common = optObject(json, 'common_http_protocol_options', path) ?? {};
  const cp = join(path, 'common_http_protocol_options');
  assertKnownFields(common, ['idle_timeout', 'max_requests_per_connection', 'max_headers_count', 'headers_with_underscores_action', 'max_stream_duration', 'max_connection_duration'], cp);
  const h1 = optObject(json, 'http_protocol_options', path);
  if (h1) assertKnownFields(h1, ['accept_http_10', 'default_host_for_http_10', 'allow_chunked_length', 'header_key_format', 'enable_trailers'], join(path, 'http_protocol_options'));
  const h2 = optObject(json, 'http2_protocol_options', path);
  if (h2) assertKnownFields(h2, ['max_concurrent_streams', 'initial_stream_window_size', 'initial_connection_window_size', 'allow_connect', 'hpack_table_size'], join(path, 'http2_protocol_options'));
  const rid = optObject(json, 'request_id_extension', path);
  if (rid) {
    const t = isObject(rid.typed_config) ? String(rid.typed_config['@type'] ?? '') : '';
    if (!t.endsWith('.UuidRequestIdConfig')) throw unsupported(join(path, 'request_id_extension'), 'only the UUID request id extension is supported');
  }
  const cc = optObject(json, 'set_current_client_cert_details', path) ?? {};
  assertKnownFields(cc, ['subject', 'cert', 'chain', 'dns', 'uri'], join(path, 'set_current_client_cert_details'));
  const lr = optObject(json, 'local_reply_config', path);
  if (lr && Object.keys(lr).length) throw unsupported(join(path, 'local_reply_config'), 'custom local reply mappers are not supported by Sailfin');
  const maxKb = optNumber(json, 'max_request_headers_kb', path, { min: 1, max: 8192 }) ?? 60;
  const sht = (optString(json, 'server_header_transformation', path) ?? 'OVERWRITE') as HcmConfig['serverHeaderTransformation'];
  if (!['OVERWRITE', 'APPEND_IF_ABSENT', 'PASS_THROUGH'].includes(sht)) throw configError(join(path, 'server_header_transformation'), `unsupported value ${JSON.stringify(sht)}`);
  const escaped = optString(json, 'path_with_escaped_slashes_action', path);
  if (escaped !== undefined && escaped !== 'KEEP_UNCHANGED' && escaped !== 'IMPLEMENTATION_SPECIFIC_DEFAULT') {
    throw unsupported(join(path, 'path_with_escaped_slashes_action'), `only KEEP_UNCHANGED is supported`);
  }
  const internal = optObject(json, 'internal_address_config', path);
  if (internal) assertKnownFields(internal, ['unix_sockets', 'cidr_ranges'], join(path, 'internal_address_config'));
  return {
    statPrefix,
    stats: compileStats(ctx, statPrefix),
    staticRoutes: routeJson ? compileRouteConfiguration(routeJson, ctx, join(path, 'route_config')) : undefined,
    rds,
    filters: compileFilters(optArray(json, 'http_filters', path), ctx, join(path, 'http_filters')),
    codecType,
    generateRequestId: optBool(json, 'generate_request_id', path) ?? true,
    preserveExternalRequestId: optBool(json, 'preserve_external_request_id', path) ?? false,
    alwaysSetRequestIdInResponse: optBool(json, 'always_set_request_id_in_response', path) ?? false,
    useRemoteAddress: optBool(json, 'use_remote_address', path) ?? false,
    skipXffAppend: optBool(json, 'skip_xff_append', path) ?? false,
    xffNumTrustedHops: optNumber(json, 'xff_num_trusted_hops', path, { min: 0, integer: true }) ?? 0,
    serverName: optString(json, 'server_name', path) ?? 'envoy',
    serverHeaderTransformation: sht,
    accessLogs: compileAccessLogs(json.access_log, ctx, join(path, 'access_log')),
    streamIdleTimeoutMs: optDurationMs(json, 'stream_idle_timeout', path) ?? 300_000,
    requestTimeoutMs: optDurationMs(json, 'request_timeout', path) ?? 0,
    requestHeadersTimeoutMs: optDurationMs(json, 'request_headers_timeout', path) ?? DEFAULT_REQUEST_HEADERS_TIMEOUT_MS,
    connectionIdleTimeoutMs: optDurationMs(common, 'idle_timeout', cp) ?? 3_600_000,
    maxRequestsPerConnection: optNumber(common, 'max_requests_per_connection', cp, { min: 0 }) ?? 0,
    drainTimeoutMs: optDurationMs(json, 'drain_timeout', path) ?? 5_000,
    maxRequestHeadersBytes: maxKb * 1024,
    maxHeadersCount: optNumber(common, 'max_headers_count', cp, { min: 1 }) ?? 100,
    upgrades: compileUpgradeConfigs(optArray(json, 'upgrade_configs', path), join(path, 'upgrade_configs')),
    stripAnyHostPort: optBool(json, 'strip_any_host_port', path) ?? false,
    mergeSlashes: optBool(json, 'merge_slashes', path) ?? false,
    normalizePath: optBool(json, 'normalize_path', path) ?? false,
    forwardClientCert: forwardClientCert(json, path),
    setCurrentClientCert: {
      subject: cc.subject === true,
      uri: cc.uri === true,
      dns: cc.dns === true,
      cert: cc.cert === true,
      chain: cc.chain === true,
    },
    via: optString(json, 'via', path),
    tracer: compileTracing(optObject(json, 'tracing', path), ctx, join(path, 'tracing')),
  };
}
