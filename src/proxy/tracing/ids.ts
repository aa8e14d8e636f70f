/**
 * Random trace and span ids as lower-case hex. Random bytes are drawn in blocks and handed out in
 * slices, so a request costs a slice of a buffer instead of a syscall per id.
 */
import { randomFillSync } from 'node:crypto';

const POOL = Buffer.alloc(4096);
let offset = POOL.length;
/** The all-zero id of each length taken, built once rather than sliced on every id. */
const ZERO_SPAN_ID = '0'.repeat(16);
const ZERO_TRACE_ID = '0'.repeat(32);

function take(bytes: number): string {
  if (offset + bytes > POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  const s = POOL.toString('hex', offset, offset + bytes);
  offset += bytes;
  // An all-zero id is invalid in both B3 and W3C; astronomically rare, but cheap to rule out.
  return s === ZERO_SPAN_ID || s === ZERO_TRACE_ID ? take(bytes) : s;
}

/** 64-bit span id: 16 hex characters. */
export function newSpanId(): string {
  return take(8);
}

/** 128-bit trace id: 32 hex characters. */
export function newTraceId(): string {
  return take(16);
}
