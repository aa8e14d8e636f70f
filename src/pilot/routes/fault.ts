/** Istio HTTPFaultInjection → the per-route config of Envoy's fault filter (envoy.filters.http.fault). */
import { SailfinError } from '../../common/errors.js';
import type { JsonObject } from '../../proxy/config/fields.js';
import { istioToProtoDuration } from '../duration.js';

export const FAULT_FILTER = 'envoy.filters.http.fault';
export const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

export interface HttpFaultInjection {
  delay?: { fixedDelay?: string; exponentialDelay?: string; percentage?: { value?: number }; percent?: number };
  abort?: { httpStatus?: number; grpcStatus?: string; http2Error?: string; percentage?: { value?: number } };
}

/**
 * Percentages are kept to four decimals as Istio does: a FractionalPercent out of a million.
 * No percentage means 100%.
 */
export function fractionalPercent(value: number | undefined, field: string): JsonObject {
  const v = value ?? 100;
  if (typeof v !== 'number' || !(v >= 0 && v <= 100)) throw new SailfinError('schema', `percentage must be between 0 and 100, got ${JSON.stringify(value)}`, { field });
  return { numerator: Math.round(v * 10_000), denominator: 'MILLION' };
}

const GRPC_CODES: Record<string, number> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

export function faultConfig(fault: HttpFaultInjection, field: string): JsonObject {
  const out: JsonObject = { '@type': FAULT_TYPE };
  if (fault.delay) {
    const d = fault.delay;
    if (d.exponentialDelay !== undefined) throw new SailfinError('unsupported', 'exponentialDelay is not supported (nor by Istio)', { field: `${field}.delay.exponentialDelay` });
    if (d.fixedDelay === undefined) throw new SailfinError('schema', 'delay needs fixedDelay', { field: `${field}.delay` });
    const pct = d.percentage?.value ?? d.percent;
    out.delay = { fixed_delay: istioToProtoDuration(d.fixedDelay, `${field}.delay.fixedDelay`), percentage: fractionalPercent(pct, `${field}.delay.percentage`) };
  }
  if (fault.abort) {
    const a = fault.abort;
    const abort: JsonObject = { percentage: fractionalPercent(a.percentage?.value, `${field}.abort.percentage`) };
    if (a.httpStatus !== undefined) {
      if (!Number.isInteger(a.httpStatus) || a.httpStatus < 200 || a.httpStatus > 599) {
        throw new SailfinError('schema', `httpStatus must be an HTTP status code (200-599), got ${JSON.stringify(a.httpStatus)}`, { field: `${field}.abort.httpStatus` });
      }
      abort.http_status = a.httpStatus;
    } else if (a.grpcStatus !== undefined) {
      const code = GRPC_CODES[a.grpcStatus];
      if (code === undefined) throw new SailfinError('schema', `unknown grpcStatus "${a.grpcStatus}"`, { field: `${field}.abort.grpcStatus` });
      abort.grpc_status = code;
    } else {
      throw new SailfinError('schema', 'abort needs httpStatus or grpcStatus', { field: `${field}.abort` });
    }
    out.abort = abort;
  }
  return out;
}
