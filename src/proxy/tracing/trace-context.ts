/**
 * Reading and writing the trace context headers a request carries between hops: W3C Trace Context
 * (`traceparent`, with `tracestate` passed through untouched), B3 multi-header (`x-b3-traceid`,
 * `x-b3-spanid`, `x-b3-parentspanid`, `x-b3-sampled`, `x-b3-flags`) and B3 single (`b3`). Each hop
 * continues the trace it was given (same trace id, the caller's span id as parent) or starts one.
 */
import type { HeaderList } from '../http/headers.js';

export interface IncomingContext {
  /** 16 or 32 hex characters; undefined when the request starts a new trace. */
  traceId?: string;
  /** The caller's span: the parent of this hop's span. */
  parentId?: string;
  /** The caller's sampling decision, when it made one. */
  sampled?: boolean;
  /** The request carried the single `b3` header (so it is rewritten in that form too). */
  b3Single: boolean;
}

const HEX = /^[0-9a-f]+$/;

function validId(v: string | undefined, lengths: readonly number[]): string | undefined {
  if (!v) return undefined;
  const s = v.toLowerCase();
  return lengths.includes(s.length) && HEX.test(s) && !/^0+$/.test(s) ? s : undefined;
}

function sampledFlag(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === '1' || v === 'd' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return undefined;
}

/** The first valid context among traceparent, B3 multi and b3 single (in that order, as Envoy prefers W3C when present). */
export function extractContext(h: HeaderList): IncomingContext {
  const b3 = h.get('b3');
  const ctx: IncomingContext = { b3Single: b3 !== undefined };
  const tp = h.get('traceparent');
  if (tp) {
    const parts = tp.trim().split('-');
    if (parts.length >= 4 && parts[0].length === 2 && parts[0] !== 'ff') {
      const traceId = validId(parts[1], [32]);
      const parentId = validId(parts[2], [16]);
      const flags = parseInt(parts[3], 16);
      if (traceId && parentId && parts[3].length === 2 && Number.isFinite(flags)) {
        ctx.traceId = traceId;
        ctx.parentId = parentId;
        ctx.sampled = (flags & 1) === 1;
        // A 64-bit B3 trace id travels in traceparent left-padded with zeros: keep its B3 spelling.
        const b3Trace = h.get('x-b3-traceid')?.toLowerCase();
        if (b3Trace && b3Trace.length === 16 && traceId === '0000000000000000' + b3Trace) ctx.traceId = b3Trace;
      }
    }
  }
  if (!ctx.traceId) {
    const traceId = validId(h.get('x-b3-traceid'), [16, 32]);
    const spanId = validId(h.get('x-b3-spanid'), [16]);
    if (traceId && spanId) {
      ctx.traceId = traceId;
      ctx.parentId = spanId;
    }
    const flags = h.get('x-b3-flags');
    const s = flags === '1' ? true : sampledFlag(h.get('x-b3-sampled'));
    if (s !== undefined) ctx.sampled = s;
  }
  if (!ctx.traceId && b3) {
    // {traceId}-{spanId}[-{sampled}[-{parentSpanId}]], or just the sampling state ("0", "1", "d").
    const parts = b3.trim().split('-');
    if (parts.length === 1) {
      const s = sampledFlag(parts[0]);
      if (s !== undefined) ctx.sampled = s;
    } else {
      const traceId = validId(parts[0], [16, 32]);
      const spanId = validId(parts[1], [16]);
      if (traceId && spanId) {
        ctx.traceId = traceId;
        ctx.parentId = spanId;
        const s = sampledFlag(parts[2]);
        if (s !== undefined) ctx.sampled = s;
      }
    }
  }
  return ctx;
}

/** Writes this hop's span as the context the next hop sees, in every format (B3 single only if it came in). */
export function injectContext(h: HeaderList, traceId: string, spanId: string, parentId: string | undefined, sampled: boolean, b3Single: boolean): void {
  const flag = sampled ? '1' : '0';
  h.set('x-b3-traceid', traceId);
  h.set('x-b3-spanid', spanId);
  if (parentId) h.set('x-b3-parentspanid', parentId);
  else h.remove('x-b3-parentspanid');
  h.set('x-b3-sampled', flag);
  h.remove('x-b3-flags');
  h.set('traceparent', `00-${traceId.length === 32 ? traceId : traceId.padStart(32, '0')}-${spanId}-0${flag}`);
  if (b3Single) h.set('b3', parentId ? `${traceId}-${spanId}-${flag}-${parentId}` : `${traceId}-${spanId}-${flag}`);
}
