/**
 * Envoy's local replies: the status, body and headers the proxy itself sends (no route, no healthy
 * upstream, timeouts, faults…). gRPC requests get a trailers-only reply with grpc-status instead,
 * so gRPC clients see a proper status (Envoy maps HTTP codes the same way).
 */
import { HeaderList } from './headers.js';
import type { ResponseFlag } from '../stream-info.js';
import type { UpstreamFailure } from './upstream-types.js';

export const BODY_NO_HEALTHY_UPSTREAM = 'no healthy upstream';
const BODY_CONNECT_FAILURE = 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
const BODY_CONNECTION_TERMINATION = 'upstream connect error or disconnect/reset before headers. reset reason: connection termination';
const BODY_REMOTE_RESET = 'upstream connect error or disconnect/reset before headers. reset reason: remote reset';
export const BODY_OVERFLOW = 'upstream connect error or disconnect/reset before headers. reset reason: overflow';
const BODY_PROTOCOL_ERROR = 'upstream connect error or disconnect/reset before headers. reset reason: protocol error';
export const BODY_TIMEOUT = 'upstream request timeout';
export const BODY_FAULT_ABORT = 'fault filter abort';

/** Envoy's 503 for an upstream that failed before sending headers: body, response flag and details. */
export function upstreamFailureReply(kind: UpstreamFailure): { body: string; flag: ResponseFlag; details: string } {
  switch (kind) {
    case 'connect_failure':
      return { body: BODY_CONNECT_FAILURE, flag: 'UF', details: 'upstream_reset_before_response_started{connection_failure}' };
    case 'remote_reset':
    case 'refused_stream':
      return { body: BODY_REMOTE_RESET, flag: 'UR', details: 'upstream_reset_before_response_started{remote_reset}' };
    case 'protocol_error':
      return { body: BODY_PROTOCOL_ERROR, flag: 'UPE', details: 'upstream_reset_before_response_started{protocol_error}' };
    default:
      return { body: BODY_CONNECTION_TERMINATION, flag: 'UC', details: 'upstream_reset_before_response_started{connection_termination}' };
  }
}

/** HTTP status → gRPC status code, as Envoy's Grpc::Utility::httpToGrpcStatus. */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

export function isGrpcRequest(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.startsWith('application/grpc');
}

export interface LocalReply {
  status: number;
  headers: HeaderList;
  body: Buffer | undefined;
}

export function buildLocalReply(status: number, body: string | Buffer | undefined, grpc: boolean, grpcStatus?: number): LocalReply {
  const headers = new HeaderList();
  if (grpc) {
    headers.add('content-type', 'application/grpc');
    headers.add('grpc-status', String(grpcStatus ?? grpcStatusForHttp(status)));
    const msg = body === undefined ? '' : body.toString();
    if (msg) headers.add('grpc-message', encodeURIComponent(msg));
    return { status: 200, headers, body: undefined };
  }
  const buf = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  if (buf && buf.length) {
    headers.add('content-length', String(buf.length));
    headers.add('content-type', 'text/plain');
  } else headers.add('content-length', '0');
  return { status, headers, body: buf && buf.length ? buf : undefined };
}
