/**
 * Hash-consing of decoded xDS resources: within one response, equal strings become one string and
 * structurally equal objects and arrays become one (frozen) object.
 *
 * Why: a control plane repeats the same blocks in every resource of a response (each of a mesh's
 * thousand clusters carries the same transport socket, protocol options and circuit breakers; each
 * endpoint the same labels), and the proxy keeps every resource's JSON for /config_dump next to its
 * compiled form. Decoded separately they are separate copies: in a sidecar of a 1,000-service mesh
 * (bench/xds-idle.ts) 3.8 MB of the heap were duplicate strings alone. Sharing them also lets the
 * compilers memoize by object identity (see cluster-config.ts).
 *
 * Shared objects are frozen so that code which would change one resource's JSON through a shared
 * block fails loudly instead of changing its neighbours. The tables live for one response only, so
 * nothing here grows with time.
 */
import type { JsonObject, JsonValue } from './json-scalars.js';

export class JsonInterner {
  /** Each distinct string (value or key) and its id, which stands for it in the shape keys. */
  private readonly strings = new Map<string, number>();
  private readonly canonical: string[] = [];
  private readonly shapes = new Map<string, JsonObject | JsonValue[]>();
  private readonly ids = new Map<object, number>();

  /** The canonical form of `value`; objects and arrays passed in are rewritten in place. */
  intern<T extends JsonValue>(value: T): T {
    return this.value(value) as T;
  }

  private str(s: string): string {
    return this.canonical[this.stringId(s)];
  }

  private stringId(s: string): number {
    let id = this.strings.get(s);
    if (id === undefined) {
      id = this.canonical.length;
      this.strings.set(s, id);
      this.canonical.push(s);
    }
    return id;
  }

  private value(v: JsonValue): JsonValue {
    if (typeof v === 'string') return this.str(v);
    if (v === null || typeof v !== 'object') return v;
    if (this.ids.has(v)) return v;
    let key: string;
    if (Array.isArray(v)) {
      key = '[';
      for (let i = 0; i < v.length; i++) {
        const c = this.value(v[i]);
        v[i] = c;
        key += this.token(c);
      }
    } else {
      key = '{';
      for (const k of Object.keys(v)) {
        const c = this.value(v[k]);
        v[k] = c;
        key += `${this.stringId(k)}=${this.token(c)}`;
      }
    }
    const known = this.shapes.get(key);
    if (known) return known;
    this.shapes.set(key, v);
    this.ids.set(v, this.ids.size);
    Object.freeze(v);
    return v;
  }

  /** An unambiguous token for a canonical child: ids for strings and objects, the value for other scalars. */
  private token(c: JsonValue): string {
    if (typeof c === 'string') return `s${this.stringId(c)};`;
    if (c === null) return 'z;';
    if (typeof c === 'object') return `#${this.ids.get(c)};`;
    return `${typeof c === 'number' ? 'n' : 'b'}${String(c)};`;
  }
}
