/**
 * The lexical half of the RE2 translator (re2.ts): a cursor over the pattern's code points and the
 * readers of the pieces that stand for characters or sets of them: escapes (`\x{…}`, octal, `\d`,
 * `\pL`, escaped punctuation) and bracketed classes with POSIX names, reduced to code-point ranges
 * (re2-class.ts) so RE2's meaning, not JavaScript's, is what gets written out. Every RE2 syntax error
 * in these pieces is found here, with RE2's wording.
 */
import { PERL_CLASSES, POSIX_CLASSES, complement, type CodeRange } from './re2-class.js';

/** A pattern RE2 refuses; the message says why, in RE2's words where it has them. */
export class Re2SyntaxError extends Error {}

/** A set of characters: code-point ranges plus JavaScript `\p{…}` properties for Unicode classes. */
export interface ClassSet {
  kind: 'set';
  ranges: CodeRange[];
  properties: string[];
}

/** What an escape or a class member stands for: one character or a set. */
export type ClassItem = { kind: 'char'; cp: number } | ClassSet;

export interface BracketClass {
  ranges: CodeRange[];
  properties: string[];
  negated: boolean;
}

/** A cursor over the pattern, with the readers of escapes and bracketed classes. */
export class Re2Scanner {
  protected readonly cps: number[];
  protected pos = 0;

  constructor(protected readonly pattern: string) {
    this.cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  }

  protected fail(message: string): never {
    throw new Re2SyntaxError(message);
  }

  protected peek(offset = 0): string {
    const cp = this.cps[this.pos + offset];
    return cp === undefined ? '' : String.fromCodePoint(cp);
  }

  protected text(from: number, to: number): string {
    return String.fromCodePoint(...this.cps.slice(from, to));
  }

  /**
   * An escape that stands for one character or a set of characters, as allowed both inside and
   * outside brackets. `pos` is at the backslash.
   */
  protected classEscape(inClass: boolean): ClassItem {
    const start = this.pos;
    this.pos++;
    const c = this.peek();
    if (c === '') this.fail('trailing \\');
    this.pos++;
    const cp = c.codePointAt(0)!;
    if (c >= '1' && c <= '9') {
      if (c <= '7' && this.peek() >= '0' && this.peek() <= '7') return { kind: 'char', cp: this.octal(cp - 0x30) };
      this.fail(`backreferences are not supported by RE2: \\${c}`);
    }
    switch (c) {
      case '0':
        return { kind: 'char', cp: this.octal(0) };
      case 'a':
        return { kind: 'char', cp: 0x07 };
      case 'f':
        return { kind: 'char', cp: 0x0c };
      case 't':
        return { kind: 'char', cp: 0x09 };
      case 'n':
        return { kind: 'char', cp: 0x0a };
      case 'r':
        return { kind: 'char', cp: 0x0d };
      case 'v':
        return { kind: 'char', cp: 0x0b };
      case 'x':
        return { kind: 'char', cp: this.hex(start) };
      case 'd':
      case 's':
      case 'w':
        return { kind: 'set', ranges: [...PERL_CLASSES[c]], properties: [] };
      case 'D':
      case 'S':
      case 'W':
        return { kind: 'set', ranges: complement(PERL_CLASSES[c.toLowerCase()]), properties: [] };
      case 'p':
      case 'P':
        return this.unicodeClass(c === 'P', start);
      case 'k':
      case 'g':
        this.fail(`backreferences are not supported by RE2: ${this.text(start, this.pos + 1)}`);
    }
    // Any ASCII punctuation may be escaped to mean itself; letters and digits are reserved.
    if (cp < 0x80 && !/[A-Za-z0-9_]/.test(c)) return { kind: 'char', cp };
    this.fail(`invalid escape sequence: \\${c}${inClass ? ' (in a character class)' : ''}`);
  }

  /** Up to three octal digits in all; the first is already consumed. */
  private octal(first: number): number {
    let value = first;
    for (let n = 0; n < 2 && this.peek() >= '0' && this.peek() <= '7'; n++) value = value * 8 + Number(this.cps[this.pos++] - 0x30);
    return value;
  }

  private hex(start: number): number {
    if (this.peek() === '{') {
      const close = this.cps.indexOf(0x7d, this.pos);
      const digits = close < 0 ? '' : this.text(this.pos + 1, close);
      const value = /^[0-9A-Fa-f]{1,8}$/.test(digits) ? parseInt(digits, 16) : NaN;
      if (!(value <= 0x10ffff)) this.fail(`invalid escape sequence: ${this.text(start, close < 0 ? this.cps.length : close + 1)}`);
      this.pos = close + 1;
      return value;
    }
    const digits = this.peek() + this.peek(1);
    if (!/^[0-9A-Fa-f]{2}$/.test(digits)) this.fail(`invalid escape sequence: ${this.text(start, Math.min(this.cps.length, this.pos + 2))}`);
    this.pos += 2;
    return parseInt(digits, 16);
  }

  /** `\pL`, `\p{Greek}`, `\p{^Greek}`, `\PL`: general categories and scripts. */
  private unicodeClass(negated: boolean, start: number): ClassSet {
    let name: string;
    if (this.peek() === '{') {
      const close = this.cps.indexOf(0x7d, this.pos);
      if (close < 0) this.fail(`invalid character class range: ${this.text(start, this.cps.length)}`);
      name = this.text(this.pos + 1, close);
      this.pos = close + 1;
    } else {
      name = this.peek();
      if (name === '') this.fail('invalid character class range: \\p');
      this.pos++;
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    if (name === 'Any') return { kind: 'set', ranges: negated ? [] : [[0, 0x10ffff]], properties: [] };
    const property = /^[A-Z][a-z]?$/.test(name) ? name : `Script=${name}`;
    try {
      new RegExp(`\\p{${property}}`, 'u');
    } catch {
      this.fail(`invalid character class range: ${this.text(start, this.pos)}`);
    }
    return { kind: 'set', ranges: [], properties: [`\\${negated ? 'P' : 'p'}{${property}}`] };
  }

  /** A bracketed class `[…]` as code-point ranges and Unicode properties; `pos` is at `[`. */
  protected bracketClass(): BracketClass {
    const start = this.pos;
    this.pos++;
    const negated = this.peek() === '^';
    if (negated) this.pos++;
    const ranges: CodeRange[] = [];
    const properties: string[] = [];
    let first = true;
    for (;;) {
      if (this.pos >= this.cps.length) this.fail(`missing closing ]: ${this.text(start, this.cps.length)}`);
      const c = this.peek();
      if (c === ']' && !first) break;
      first = false;
      if (c === '[' && this.peek(1) === ':') {
        const posix = this.posixClass();
        if (posix) {
          ranges.push(...posix);
          continue;
        }
      }
      const lo = this.classAtom();
      if (lo.kind === 'set') {
        ranges.push(...lo.ranges);
        properties.push(...lo.properties);
        continue;
      }
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== '') {
        const rangeStart = this.pos - 1;
        this.pos++;
        const hi = this.classAtom();
        if (hi.kind !== 'char' || hi.cp < lo.cp) this.fail(`invalid character class range: ${this.text(rangeStart, this.pos)}`);
        ranges.push([lo.cp, hi.cp]);
      } else {
        ranges.push([lo.cp, lo.cp]);
      }
    }
    this.pos++; // ']'
    return { ranges, properties, negated };
  }

  private classAtom(): ClassItem {
    if (this.peek() === '\\') return this.classEscape(true);
    return { kind: 'char', cp: this.cps[this.pos++] };
  }

  /** `[:alpha:]` or `[:^alpha:]` inside brackets; undefined (nothing consumed) when it is not one. */
  private posixClass(): CodeRange[] | undefined {
    const rest = this.text(this.pos, Math.min(this.cps.length, this.pos + 12));
    const m = /^\[:(\^?)([a-z]+):\]/.exec(rest);
    if (!m) return undefined;
    const ranges = POSIX_CLASSES[m[2]];
    if (!ranges) this.fail(`invalid character class range: ${m[0]}`);
    this.pos += m[0].length;
    return m[1] ? complement(ranges) : [...ranges];
  }
}
