/**
 * Envoy's RetryPolicy compiled once: which failures are retried (retry_on as a bit set), how many
 * times, the per-try timeout, the previous-hosts predicate and the exponential back-off with jitter.
 */
import { assertKnownFields, configError, isObject, join, optArray, optDurationMs, optNumber, optObject, optString, unsupported, type JsonObject } from '../config/fields.js';
import { HeaderList } from './headers.js';
import { compileHeaderMatcher, type RequestPredicate, type RouteRequest } from './matchers.js';

export const enum RetryOn {
  Http5xx = 1 << 0,
  GatewayError = 1 << 1,
  Reset = 1 << 2,
  ConnectFailure = 1 << 3,
  Retriable4xx = 1 << 4,
  RefusedStream = 1 << 5,
  RetriableStatusCodes = 1 << 6,
  RetriableHeaders = 1 << 7,
  ResetBeforeRequest = 1 << 8,
  EnvoyRateLimited = 1 << 9,
  GrpcCancelled = 1 << 10,
  GrpcDeadlineExceeded = 1 << 11,
  GrpcInternal = 1 << 12,
  GrpcResourceExhausted = 1 << 13,
  GrpcUnavailable = 1 << 14,
}

const RETRY_ON: Record<string, RetryOn> = {
  '5xx': RetryOn.Http5xx,
  'gateway-error': RetryOn.GatewayError,
  reset: RetryOn.Reset,
  'connect-failure': RetryOn.ConnectFailure,
  'retriable-4xx': RetryOn.Retriable4xx,
  'refused-stream': RetryOn.RefusedStream,
  'retriable-status-codes': RetryOn.RetriableStatusCodes,
  'retriable-headers': RetryOn.RetriableHeaders,
  'reset-before-request': RetryOn.ResetBeforeRequest,
  'envoy-ratelimited': RetryOn.EnvoyRateLimited,
  cancelled: RetryOn.GrpcCancelled,
  'deadline-exceeded': RetryOn.GrpcDeadlineExceeded,
  internal: RetryOn.GrpcInternal,
  'resource-exhausted': RetryOn.GrpcResourceExhausted,
  unavailable: RetryOn.GrpcUnavailable,
};

const GRPC_STATUS_FOR: ReadonlyArray<[RetryOn, string]> = [
  [RetryOn.GrpcCancelled, '1'],
  [RetryOn.GrpcDeadlineExceeded, '4'],
  [RetryOn.GrpcResourceExhausted, '8'],
  [RetryOn.GrpcInternal, '13'],
  [RetryOn.GrpcUnavailable, '14'],
];

export interface RetryPolicy {
  readonly retryOn: number;
  readonly numRetries: number;
  /** 0 = no per-try timeout (the route timeout covers all tries). */
  readonly perTryTimeoutMs: number;
  readonly statusCodes: ReadonlySet<number>;
  readonly retriableHeaders: readonly RequestPredicate[];
  readonly previousHosts: boolean;
  readonly hostSelectionMaxAttempts: number;
  readonly baseIntervalMs: number;
  readonly maxIntervalMs: number;
}

const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';

export function compileRetryPolicy(json: JsonObject, path: string): RetryPolicy {
  assertKnownFields(
    json,
    ['retry_on', 'num_retries', 'per_try_timeout', 'retry_host_predicate', 'host_selection_retry_max_attempts', 'retriable_status_codes', 'retry_back_off', 'retriable_headers'],
    path,
  );
  let retryOn = 0;
  for (const raw of (optString(json, 'retry_on', path) ?? '').split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const bit = RETRY_ON[item];
    if (bit === undefined) throw unsupported(join(path, 'retry_on'), `retry_on value "${item}" is not supported by Sailfin`);
    retryOn |= bit;
  }
  const statusCodes = new Set<number>(
    optArray(json, 'retriable_status_codes', path).map((c, i) => {
      const n = Number(c);
      if (!Number.isInteger(n) || n < 100 || n > 599) throw configError(join(join(path, 'retriable_status_codes'), i), 'must be an HTTP status code');
      return n;
    }),
  );
  let previousHosts = false;
  optArray(json, 'retry_host_predicate', path).forEach((p, i) => {
    const pp = join(join(path, 'retry_host_predicate'), i);
    if (!isObject(p)) throw configError(pp, 'must be an object');
    assertKnownFields(p, ['name', 'typed_config'], pp);
    const typed = optObject(p, 'typed_config', pp);
    const name = optString(p, 'name', pp);
    const type = typed ? String(typed['@type'] ?? '') : '';
    if (name === PREVIOUS_HOSTS || type.endsWith('.PreviousHostsPredicate')) previousHosts = true;
    else throw unsupported(pp, `retry host predicate ${JSON.stringify(name ?? type)} is not supported by Sailfin (previous_hosts is)`);
  });
  let baseIntervalMs = 25;
  let maxIntervalMs = 250;
  const backOff = optObject(json, 'retry_back_off', path);
  if (backOff) {
    const bp = join(path, 'retry_back_off');
    assertKnownFields(backOff, ['base_interval', 'max_interval'], bp);
    baseIntervalMs = optDurationMs(backOff, 'base_interval', bp) ?? 25;
    if (baseIntervalMs <= 0) throw configError(join(bp, 'base_interval'), 'must be greater than 0');
    maxIntervalMs = optDurationMs(backOff, 'max_interval', bp) ?? baseIntervalMs * 10;
    if (maxIntervalMs < baseIntervalMs) throw configError(join(bp, 'max_interval'), 'must be at least base_interval');
  }
  return {
    retryOn,
    numRetries: optNumber(json, 'num_retries', path, { min: 0, integer: true }) ?? 1,
    perTryTimeoutMs: optDurationMs(json, 'per_try_timeout', path) ?? 0,
    statusCodes,
    retriableHeaders: optArray(json, 'retriable_headers', path).map((h, i) => compileHeaderMatcher(h, join(join(path, 'retriable_headers'), i))),
    previousHosts,
    hostSelectionMaxAttempts: optNumber(json, 'host_selection_retry_max_attempts', path, { min: 0 }) ?? 1,
    baseIntervalMs,
    maxIntervalMs,
  };
}

/** Whether an upstream response asks for another try under this policy. */
export function retriableResponse(p: RetryPolicy, status: number, headers: HeaderList): boolean {
  const on = p.retryOn;
  if (on & RetryOn.Http5xx && status >= 500) return true;
  if (on & RetryOn.GatewayError && (status === 502 || status === 503 || status === 504)) return true;
  if (on & RetryOn.Retriable4xx && status === 409) return true;
  if (on & RetryOn.RetriableStatusCodes && p.statusCodes.has(status)) return true;
  if (on & RetryOn.EnvoyRateLimited && headers.has('x-envoy-ratelimited')) return true;
  if (on & RetryOn.RetriableHeaders && p.retriableHeaders.length) {
    const view: RouteRequest = { method: '', path: '', host: '', scheme: '', headers };
    for (const m of p.retriableHeaders) if (m(view)) return true;
  }
  if (on & (RetryOn.GrpcCancelled | RetryOn.GrpcDeadlineExceeded | RetryOn.GrpcInternal | RetryOn.GrpcResourceExhausted | RetryOn.GrpcUnavailable)) {
    const gs = headers.get('grpc-status');
    if (gs !== undefined) for (const [bit, code] of GRPC_STATUS_FOR) if (on & bit && gs === code) return true;
  }
  return false;
}

export type FailureKind = 'connect_failure' | 'reset' | 'refused_stream' | 'reset_before_request';

export function retriableFailure(p: RetryPolicy, kind: FailureKind): boolean {
  const on = p.retryOn;
  switch (kind) {
    case 'connect_failure':
      return (on & (RetryOn.ConnectFailure | RetryOn.Http5xx | RetryOn.GatewayError | RetryOn.Reset | RetryOn.ResetBeforeRequest)) !== 0;
    case 'refused_stream':
      return (on & (RetryOn.RefusedStream | RetryOn.Http5xx | RetryOn.Reset)) !== 0;
    case 'reset_before_request':
      return (on & (RetryOn.ResetBeforeRequest | RetryOn.Reset | RetryOn.Http5xx | RetryOn.GatewayError)) !== 0;
    default:
      return (on & (RetryOn.Reset | RetryOn.Http5xx | RetryOn.GatewayError)) !== 0;
  }
}

/** Envoy's fully jittered exponential back-off: random in [0, min(base * 2^n, max)). */
export function backOffMs(p: RetryPolicy, retryIndex: number): number {
  const ceiling = Math.min(p.baseIntervalMs * 2 ** retryIndex, p.maxIntervalMs);
  return Math.random() * ceiling;
}
