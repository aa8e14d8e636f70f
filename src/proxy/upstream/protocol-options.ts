/**
 * How a cluster speaks HTTP upstream: HttpProtocolOptions (typed_extension_protocol_options) and the
 * deprecated top-level forms → protocol, idle timeout, requests per connection, connection duration,
 * HTTP/2 stream limit, for ClusterInfo.
 */
import type { ClusterInfo } from './api.js';
import {
  type JsonObject,
  assertKnownFields,
  configError,
  join,
  optDurationMs,
  optNumber,
  optObject,
  optString,
  reqObject,
  typeUrlOf,
  unsupported,
} from '../config/fields.js';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export interface ProtocolOptions {
  upstreamProtocol: ClusterInfo['upstreamProtocol'];
  maxRequestsPerConnection: number;
  idleTimeoutMs: number;
  maxConnectionDurationMs: number;
  maxConcurrentStreams?: number;
}

export function compileProtocolOptions(json: JsonObject, path: string): ProtocolOptions {
  const out: ProtocolOptions = { upstreamProtocol: 'http1', maxRequestsPerConnection: 0, idleTimeoutMs: 3600_000, maxConnectionDurationMs: 0 };
  out.maxRequestsPerConnection = optNumber(json, 'max_requests_per_connection', path, { min: 0, integer: true }) ?? 0;
  const legacyCommon = optObject(json, 'common_http_protocol_options', path);
  if (legacyCommon) compileCommonHttp(legacyCommon, join(path, 'common_http_protocol_options'), out);
  optObject(json, 'http_protocol_options', path);
  const legacyH2 = optObject(json, 'http2_protocol_options', path);
  if (legacyH2) {
    out.upstreamProtocol = 'http2';
    compileHttp2(legacyH2, join(path, 'http2_protocol_options'), out);
  }
  const sel = optString(json, 'protocol_selection', path);
  if (sel !== undefined && sel !== 'USE_CONFIGURED_PROTOCOL' && sel !== 'USE_DOWNSTREAM_PROTOCOL') {
    throw unsupported(join(path, 'protocol_selection'), `unsupported value "${sel}" (one of USE_CONFIGURED_PROTOCOL, USE_DOWNSTREAM_PROTOCOL)`);
  }
  if (sel === 'USE_DOWNSTREAM_PROTOCOL') out.upstreamProtocol = 'use_downstream';

  const typed = optObject(json, 'typed_extension_protocol_options', path);
  if (!typed) return out;
  const tPath = join(path, 'typed_extension_protocol_options');
  assertKnownFields(typed, [HTTP_PROTOCOL_OPTIONS], tPath);
  const opts = reqObject(typed, HTTP_PROTOCOL_OPTIONS, tPath);
  const p = join(tPath, HTTP_PROTOCOL_OPTIONS);
  if (typeUrlOf(opts, p) !== `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`) throw unsupported(join(p, '@type'), `unsupported type "${String(opts['@type'])}"`);
  assertKnownFields(opts, ['@type', 'common_http_protocol_options', 'explicit_http_config', 'use_downstream_protocol_config', 'upstream_http_protocol_options'], p);
  const common = optObject(opts, 'common_http_protocol_options', p);
  if (common) compileCommonHttp(common, join(p, 'common_http_protocol_options'), out);
  const upstreamHttp = optObject(opts, 'upstream_http_protocol_options', p);
  if (upstreamHttp && Object.keys(upstreamHttp).length) throw unsupported(join(p, 'upstream_http_protocol_options'), 'auto_sni / auto_san_validation are not supported by Sailfin');
  const explicit = optObject(opts, 'explicit_http_config', p);
  const downstream = optObject(opts, 'use_downstream_protocol_config', p);
  if (explicit && downstream) throw configError(p, 'only one of explicit_http_config and use_downstream_protocol_config may be set');
  if (explicit) {
    const e = join(p, 'explicit_http_config');
    assertKnownFields(explicit, ['http_protocol_options', 'http2_protocol_options'], e);
    const h2 = optObject(explicit, 'http2_protocol_options', e);
    if (h2) {
      out.upstreamProtocol = 'http2';
      compileHttp2(h2, join(e, 'http2_protocol_options'), out);
    } else {
      optObject(explicit, 'http_protocol_options', e);
      out.upstreamProtocol = 'http1';
    }
  } else if (downstream) {
    const d = join(p, 'use_downstream_protocol_config');
    assertKnownFields(downstream, ['http_protocol_options', 'http2_protocol_options'], d);
    const h2 = optObject(downstream, 'http2_protocol_options', d);
    if (h2) compileHttp2(h2, join(d, 'http2_protocol_options'), out);
    out.upstreamProtocol = 'use_downstream';
  }
  return out;
}

function compileCommonHttp(json: JsonObject, path: string, out: ProtocolOptions): void {
  assertKnownFields(json, ['idle_timeout', 'max_requests_per_connection', 'max_connection_duration', 'max_headers_count', 'max_stream_duration'], path);
  const idle = optDurationMs(json, 'idle_timeout', path);
  if (idle !== undefined) out.idleTimeoutMs = idle;
  const max = optNumber(json, 'max_requests_per_connection', path, { min: 0, integer: true });
  if (max !== undefined) out.maxRequestsPerConnection = max;
  out.maxConnectionDurationMs = optDurationMs(json, 'max_connection_duration', path) ?? out.maxConnectionDurationMs;
  optNumber(json, 'max_headers_count', path, { min: 1, integer: true });
  optDurationMs(json, 'max_stream_duration', path);
}

function compileHttp2(json: JsonObject, path: string, out: ProtocolOptions): void {
  assertKnownFields(json, ['max_concurrent_streams', 'initial_stream_window_size', 'initial_connection_window_size'], path);
  out.maxConcurrentStreams = optNumber(json, 'max_concurrent_streams', path, { min: 1, integer: true });
  optNumber(json, 'initial_stream_window_size', path, { min: 65535, integer: true });
  optNumber(json, 'initial_connection_window_size', path, { min: 65535, integer: true });
}
