/**
 * HTTP/1.1 serialization: status lines are cached per code and a header block is built as one
 * latin1 string so each message costs one socket write (header bytes + small body share a writev
 * through cork/uncork).
 */
import { STATUS_CODES } from 'node:http';
import type { HeaderList } from './headers.js';

const statusLines = new Map<number, string>();

export function statusLine(status: number): string {
  let s = statusLines.get(status);
  if (s === undefined) {
    s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    statusLines.set(status, s);
  }
  return s;
}

/**
 * Hop-by-hop headers never forwarded (RFC 9110 §7.6.1), plus the ones each side's framing
 * re-creates. `te: trailers` is kept for gRPC by the caller.
 */
export function isHopByHop(name: string): boolean {
  switch (name) {
    case 'connection':
    case 'keep-alive':
    case 'proxy-connection':
    case 'transfer-encoding':
    case 'upgrade':
    case 'te':
    case 'trailer':
    case 'http2-settings':
      return true;
    default:
      return false;
  }
}

/** Appends `name: value\r\n` for every header except pseudo-headers and hop-by-hop ones. */
export function appendHeaders(out: string, headers: HeaderList): string {
  const kv = headers.kv;
  for (let i = 0; i < kv.length; i += 2) {
    const k = kv[i];
    if (k.charCodeAt(0) === 58 /* ':' */ || isHopByHop(k)) continue;
    out += k + ': ' + kv[i + 1] + '\r\n';
  }
  return out;
}

export const CHUNK_END = Buffer.from('\r\n');
export const LAST_CHUNK = Buffer.from('0\r\n\r\n');

export function chunkHeader(len: number): string {
  return len.toString(16) + '\r\n';
}

export function trailerBlock(trailers: HeaderList | undefined): string {
  let s = '0\r\n';
  if (trailers) s = appendHeaders(s, trailers);
  return s + '\r\n';
}
