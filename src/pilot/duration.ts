/**
 * Istio's YAML durations are Go-style (`7s`, `0.5s`, `3m`, `1h30m`, `250ms`) while Envoy's JSON wants
 * protobuf Durations (`"7s"`, `"0.500s"`). This converts one to the other and says which field was wrong.
 */
import { SailfinError } from '../common/errors.js';

const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6, ns: 1e-9 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)/y;

/** Seconds in a Go-style duration, or a SailfinError naming `field`. */
export function parseIstioDuration(text: unknown, field: string): number {
  if (typeof text !== 'string' || text.length === 0) {
    throw new SailfinError('schema', `expected a duration such as "5s" or "250ms", got ${JSON.stringify(text)}`, { field });
  }
  let seconds = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) throw new SailfinError('schema', `"${text}" is not a duration (use units h, m, s, ms, us, ns)`, { field });
    seconds += Number(m[1]) * UNIT_SECONDS[m[2]];
    pos = PART.lastIndex;
  }
  return seconds;
}

/** Seconds → protobuf JSON Duration with at most millisecond… nanosecond precision, no float noise. */
export function toProtoDuration(seconds: number): string {
  const nanos = Math.round(seconds * 1e9);
  const whole = Math.floor(nanos / 1e9);
  const frac = nanos % 1e9;
  if (frac === 0) return `${whole}s`;
  let digits = String(frac).padStart(9, '0');
  if (digits.endsWith('000000')) digits = digits.slice(0, 3);
  else if (digits.endsWith('000')) digits = digits.slice(0, 6);
  return `${whole}.${digits}s`;
}

export function istioToProtoDuration(text: unknown, field: string): string {
  return toProtoDuration(parseIstioDuration(text, field));
}
