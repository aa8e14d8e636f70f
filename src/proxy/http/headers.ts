/**
 * A header list as the codecs produce it: names lower-cased once when parsed, kept in arrival
 * order with duplicates, in one flat array [name0, value0, name1, value1, …]. A flat array (not a
 * Map or an object) because requests carry a dozen headers at most, so a linear scan beats hashing,
 * and forwarding them is a single loop with no per-header allocation.
 */
export class HeaderList {
  /** [name, value, name, value, …]; names are lower-case. */
  kv: string[];

  constructor(kv: string[] = []) {
    this.kv = kv;
  }

  get size(): number {
    return this.kv.length >> 1;
  }

  /** The first value of a header, or undefined. */
  get(name: string): string | undefined {
    const kv = this.kv;
    for (let i = 0; i < kv.length; i += 2) if (kv[i] === name) return kv[i + 1];
    return undefined;
  }

  /** All values joined with "," (how Envoy matches multi-valued headers), or undefined. */
  getJoined(name: string): string | undefined {
    const kv = this.kv;
    let out: string | undefined;
    for (let i = 0; i < kv.length; i += 2) {
      if (kv[i] === name) out = out === undefined ? kv[i + 1] : out + ',' + kv[i + 1];
    }
    return out;
  }

  has(name: string): boolean {
    const kv = this.kv;
    for (let i = 0; i < kv.length; i += 2) if (kv[i] === name) return true;
    return false;
  }

  add(name: string, value: string): void {
    this.kv.push(name, value);
  }

  /** Replaces every value of `name` with one value (adds it when absent). */
  set(name: string, value: string): void {
    const kv = this.kv;
    let found = false;
    for (let i = 0; i < kv.length; i += 2) {
      if (kv[i] !== name) continue;
      if (!found) {
        kv[i + 1] = value;
        found = true;
      } else {
        kv.splice(i, 2);
        i -= 2;
      }
    }
    if (!found) kv.push(name, value);
  }

  remove(name: string): boolean {
    const kv = this.kv;
    let removed = false;
    for (let i = 0; i < kv.length; i += 2) {
      if (kv[i] === name) {
        kv.splice(i, 2);
        i -= 2;
        removed = true;
      }
    }
    return removed;
  }

  clone(): HeaderList {
    return new HeaderList(this.kv.slice());
  }

  /** A plain object for the access log and node:http2 (multi-valued headers become arrays). */
  toObject(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    const kv = this.kv;
    for (let i = 0; i < kv.length; i += 2) {
      const k = kv[i];
      const prev = out[k];
      if (prev === undefined) out[k] = kv[i + 1];
      else if (Array.isArray(prev)) prev.push(kv[i + 1]);
      else out[k] = [prev, kv[i + 1]];
    }
    return out;
  }

  static fromObject(obj: Record<string, string | string[] | number | undefined>): HeaderList {
    const kv: string[] = [];
    for (const k of Object.keys(obj)) {
      const v = obj[k];
      if (v === undefined) continue;
      const name = k.toLowerCase();
      if (Array.isArray(v)) for (const x of v) kv.push(name, String(x));
      else kv.push(name, String(v));
    }
    return new HeaderList(kv);
  }
}
