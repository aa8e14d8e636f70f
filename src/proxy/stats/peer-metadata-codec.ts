/**
 * Istio's peer metadata headers (`x-envoy-peer-metadata`, `x-envoy-peer-metadata-id`): the value is
 * base64 of a serialized google.protobuf.Struct holding the sender's node metadata. Encoding the
 * Struct here (a few dozen lines of protobuf wire format) keeps the request path free of a protobuf
 * library; a stock Envoy/Istio sidecar reads what we write and we read what it writes.
 */

export const PEER_METADATA_HEADER = 'x-envoy-peer-metadata';
export const PEER_METADATA_ID_HEADER = 'x-envoy-peer-metadata-id';

export type StructValue = null | number | string | boolean | StructValue[] | { [k: string]: StructValue };

// ---- encoding ----

function varint(out: number[], n: number): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

function lengthDelimited(out: number[], field: number, bytes: ArrayLike<number>): void {
  out.push((field << 3) | 2);
  varint(out, bytes.length);
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]);
}

function encodeValue(v: StructValue): number[] {
  const out: number[] = [];
  if (v === null || v === undefined) {
    out.push((1 << 3) | 0, 0);
  } else if (typeof v === 'number') {
    out.push((2 << 3) | 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    for (const x of b) out.push(x);
  } else if (typeof v === 'string') {
    lengthDelimited(out, 3, Buffer.from(v, 'utf8'));
  } else if (typeof v === 'boolean') {
    out.push((4 << 3) | 0, v ? 1 : 0);
  } else if (Array.isArray(v)) {
    const list: number[] = [];
    for (const e of v) lengthDelimited(list, 1, encodeValue(e));
    lengthDelimited(out, 6, list);
  } else {
    lengthDelimited(out, 5, encodeStructBytes(v));
  }
  return out;
}

function encodeStructBytes(obj: Readonly<Record<string, StructValue>>): number[] {
  const out: number[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    const entry: number[] = [];
    lengthDelimited(entry, 1, Buffer.from(k, 'utf8'));
    lengthDelimited(entry, 2, encodeValue(v));
    lengthDelimited(out, 1, entry);
  }
  return out;
}

export function encodeStruct(obj: Readonly<Record<string, StructValue>>): Buffer {
  return Buffer.from(encodeStructBytes(obj));
}

// ---- decoding ----

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error('varint too long');
  }

  /** [start, end) of a length-delimited field's payload. */
  span(): [number, number] {
    const len = this.varint();
    const s = this.pos;
    if (s + len > this.end) throw new Error('truncated field');
    this.pos = s + len;
    return [s, s + len];
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.span();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new Error('truncated field');
  }
}

function decodeValue(buf: Buffer, start: number, end: number, depth: number): StructValue {
  if (depth > 16) throw new Error('struct nested too deeply');
  const r = new Reader(buf, start, end);
  let value: StructValue = null;
  while (r.pos < end) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === 0) {
      r.varint();
      value = null;
    } else if (field === 2 && wire === 1) {
      if (r.pos + 8 > end) throw new Error('truncated double');
      value = buf.readDoubleLE(r.pos);
      r.pos += 8;
    } else if (field === 3 && wire === 2) {
      const [s, e] = r.span();
      value = buf.toString('utf8', s, e);
    } else if (field === 4 && wire === 0) {
      value = r.varint() !== 0;
    } else if (field === 5 && wire === 2) {
      const [s, e] = r.span();
      value = decodeStructRange(buf, s, e, depth + 1);
    } else if (field === 6 && wire === 2) {
      const [s, e] = r.span();
      const list: StructValue[] = [];
      const lr = new Reader(buf, s, e);
      while (lr.pos < e) {
        const t = lr.varint();
        if (Math.floor(t / 8) === 1 && (t & 7) === 2) {
          const [vs, ve] = lr.span();
          list.push(decodeValue(buf, vs, ve, depth + 1));
        } else lr.skip(t & 7);
      }
      value = list;
    } else r.skip(wire);
  }
  return value;
}

function decodeStructRange(buf: Buffer, start: number, end: number, depth: number): Record<string, StructValue> {
  const out: Record<string, StructValue> = {};
  const r = new Reader(buf, start, end);
  while (r.pos < end) {
    const tag = r.varint();
    if (Math.floor(tag / 8) !== 1 || (tag & 7) !== 2) {
      r.skip(tag & 7);
      continue;
    }
    const [es, ee] = r.span();
    const er = new Reader(buf, es, ee);
    let key = '';
    let value: StructValue = null;
    while (er.pos < ee) {
      const t = er.varint();
      const f = Math.floor(t / 8);
      if (f === 1 && (t & 7) === 2) {
        const [s, e] = er.span();
        key = buf.toString('utf8', s, e);
      } else if (f === 2 && (t & 7) === 2) {
        const [s, e] = er.span();
        value = decodeValue(buf, s, e, depth);
      } else er.skip(t & 7);
    }
    out[key] = value;
  }
  return out;
}

/** Throws on malformed input; callers treat that as "no peer metadata". */
export function decodeStruct(buf: Buffer): Record<string, StructValue> {
  return decodeStructRange(buf, 0, buf.length, 0);
}
