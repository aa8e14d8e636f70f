/**
 * Regular expressions with RE2 semantics, as Envoy's `safe_regex` and Istio's StringMatch `regex` use
 * them: the whole input must match, and only RE2's syntax is accepted. Istio rejects lookaround,
 * backreferences and possessive or atomic constructs because RE2 cannot run them in linear time, so a
 * pattern that JavaScript would accept must still be refused here with the reason.
 *
 * The pattern is translated to an equivalent JavaScript `u`-mode pattern by a single left-to-right
 * scan that also finds every RE2 syntax error; RE2-only syntax (`(?P<n>…)`, `\z`, `\A`, `\Q…\E`,
 * POSIX classes, scoped flags `(?i:…)`) is rewritten, and RE2's ASCII-only `\s`/`\w`/`.` meanings are
 * kept rather than JavaScript's Unicode ones. This file holds the structure (groups, repetition,
 * flags, assertions); re2-scanner.ts reads escapes and bracketed classes.
 */
import { SailfinError } from '../common/errors.js';
import { caseFold, otherCases, patternLiteral, writeClass, type CodeRange } from './re2-class.js';
import { Re2Scanner, Re2SyntaxError } from './re2-scanner.js';

/** Why `pattern` is not a valid RE2 expression, or undefined when it is. */
export function re2Error(pattern: string): string | undefined {
  try {
    toJavaScript(pattern);
    return undefined;
  } catch (err) {
    if (err instanceof Re2SyntaxError) return err.message;
    throw err;
  }
}

/** A JavaScript RegExp that matches exactly the inputs RE2 full-matches with `pattern`. */
export function compileRe2(pattern: string): RegExp {
  try {
    return toJavaScript(pattern);
  } catch (err) {
    if (err instanceof Re2SyntaxError) throw new SailfinError('schema', `invalid RE2 regular expression ${JSON.stringify(pattern)}: ${err.message}`);
    throw err;
  }
}

/** RE2 refuses counted repetition above this (`kMaxRepeat`). */
const MAX_REPEAT = 1000;

interface Flags {
  /** case-insensitive */
  i: boolean;
  /** `^`/`$` also match at line breaks */
  m: boolean;
  /** `.` also matches `\n` */
  s: boolean;
  /** swap greedy and lazy repetition */
  U: boolean;
}

/** What was written last in the current group, to place and check a following repetition operator. */
type Last = { kind: 'none' } | { kind: 'atom'; start: number } | { kind: 'assert'; start: number } | { kind: 'repeat'; op: string };

interface Frame {
  out: string;
  flags: Flags;
  last: Last;
  /** The text that opened the group: `(`, `(?:`; empty for the whole pattern. */
  open: string;
}

function toJavaScript(pattern: string): RegExp {
  const source = new Translator(pattern).translate();
  try {
    return new RegExp(`^(?:${source})$`, 'u');
  } catch (err) {
    // The scan should have caught everything JavaScript rejects; report rather than crash if not.
    throw new Re2SyntaxError(`not supported: ${(err as Error).message}`);
  }
}

/** The structural half: groups, alternation, repetition, flags and assertions, written out as JavaScript. */
class Translator extends Re2Scanner {
  private readonly stack: Frame[] = [];
  private frame: Frame = { out: '', flags: { i: false, m: false, s: false, U: false }, last: { kind: 'none' }, open: '' };
  private readonly names = new Set<string>();

  translate(): string {
    while (this.pos < this.cps.length) this.step();
    if (this.stack.length > 0) this.fail(`missing closing ): ${this.pattern}`);
    return this.frame.out;
  }

  private step(): void {
    const c = this.peek();
    switch (c) {
      case '(':
        return this.openGroup();
      case ')':
        return this.closeGroup();
      case '|':
        this.pos++;
        this.frame.out += '|';
        this.frame.last = { kind: 'none' };
        return;
      case '*':
      case '+':
      case '?':
        return this.repeat(c);
      case '{':
        if (this.tryCountedRepeat()) return;
        this.pos++;
        return this.atom(patternLiteral(0x7b));
      case '^':
        this.pos++;
        return this.assertion(this.frame.flags.m ? '(?:^|(?<=\\n))' : '^');
      case '$':
        this.pos++;
        return this.assertion(this.frame.flags.m ? '(?:$|(?=\\n))' : '$');
      case '.':
        this.pos++;
        return this.atom(this.frame.flags.s ? '[^]' : '[^\\n]');
      case '[':
        return this.atom(this.charClass());
      case '\\':
        return this.escape();
      default:
        this.pos++;
        return this.atom(this.literal(c.codePointAt(0)!));
    }
  }

  private atom(js: string): void {
    this.frame.last = { kind: 'atom', start: this.frame.out.length };
    this.frame.out += js;
  }

  private assertion(js: string): void {
    this.frame.last = { kind: 'assert', start: this.frame.out.length };
    this.frame.out += js;
  }

  private literal(cp: number): string {
    if (this.frame.flags.i) {
      const others = otherCases(cp);
      if (others.length > 0) return writeClass([[cp, cp], ...others.map((o): CodeRange => [o, o])], [], false);
    }
    return patternLiteral(cp);
  }

  private repeat(op: string): void {
    this.pos++;
    const lazy = this.peek() === '?';
    if (lazy) this.pos++;
    this.applyRepeat(op, lazy);
  }

  private applyRepeat(op: string, lazy: boolean): void {
    const last = this.frame.last;
    if (last.kind === 'none') this.fail(`missing argument to repetition operator: ${op}`);
    if (last.kind === 'repeat') {
      if (op === '+') this.fail(`possessive quantifiers are not supported by RE2: ${last.op}+`);
      this.fail(`bad repetition operator: ${last.op}${op}`);
    }
    if (last.kind === 'assert') {
      // JavaScript refuses to repeat an assertion directly; RE2 allows it (a no-op), so group it.
      this.frame.out = `${this.frame.out.slice(0, last.start)}(?:${this.frame.out.slice(last.start)})`;
    }
    const nonGreedy = lazy !== this.frame.flags.U;
    this.frame.out += op + (nonGreedy ? '?' : '');
    this.frame.last = { kind: 'repeat', op: op + (lazy ? '?' : '') };
  }

  /** `{n}`, `{n,}` or `{n,m}`; anything else starting with `{` is a literal brace in RE2. */
  private tryCountedRepeat(): boolean {
    const rest = this.text(this.pos, Math.min(this.cps.length, this.pos + 24));
    const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
    if (!m) return false;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? undefined : Number(m[3]);
    if (min > MAX_REPEAT || (max !== undefined && (max > MAX_REPEAT || max < min))) this.fail(`bad repetition operator: ${m[0]}`);
    this.pos += m[0].length;
    const lazy = this.peek() === '?';
    if (lazy) this.pos++;
    this.applyRepeat(m[0], lazy);
    return true;
  }

  private openGroup(): void {
    const start = this.pos;
    this.pos++;
    if (this.peek() !== '?') return this.pushGroup('(', this.frame.flags);
    this.pos++;
    const next = this.peek();
    const two = next + this.peek(1);
    if (two === '<=' || two === '<!') this.fail(`lookbehind ${this.text(start, this.pos + 2)}…) is not supported by RE2`);
    if (next === '=' || next === '!') this.fail(`lookahead ${this.text(start, this.pos + 1)}…) is not supported by RE2`);
    if (next === '>') this.fail('atomic groups (?>…) are not supported by RE2');
    if (next === '#') this.fail('comments (?#…) are not supported by RE2');
    if (two === 'P=' || two === 'P>') this.fail(`backreferences and recursion (?${two}…) are not supported by RE2`);
    if (next === '<' || two === 'P<') return this.namedGroup(start);
    this.flagGroup(start);
  }

  private namedGroup(start: number): void {
    if (this.peek() === 'P') this.pos++;
    this.pos++; // '<'
    const nameStart = this.pos;
    while (this.pos < this.cps.length && this.peek() !== '>') this.pos++;
    const name = this.text(nameStart, this.pos);
    if (this.pos >= this.cps.length || !/^[A-Za-z0-9_]+$/.test(name)) this.fail(`invalid named capture group: ${this.text(start, this.pos + 1)}`);
    if (this.names.has(name)) this.fail(`duplicate capture group name: ${name}`);
    this.names.add(name);
    this.pos++; // '>'
    // Names are irrelevant for a full-match test, and RE2 allows names JavaScript does not (`1st`).
    this.pushGroup('(', this.frame.flags);
  }

  /** `(?flags)` for the rest of the group, or `(?flags:…)` for a new group. */
  private flagGroup(start: number): void {
    const flags = { ...this.frame.flags };
    let negate = false;
    let sawFlag = false;
    for (;;) {
      const c = this.peek();
      if (c === 'i' || c === 'm' || c === 's' || c === 'U') {
        flags[c] = !negate;
        sawFlag = true;
      } else if (c === '-' && !negate) {
        negate = true;
        sawFlag = false;
      } else if ((c === ')' || c === ':') && sawFlag) {
        this.pos++;
        if (c === ':') return this.pushGroup('(?:', flags);
        this.frame.flags = flags;
        return;
      } else {
        this.fail(`invalid or unsupported Perl syntax: ${this.text(start, Math.min(this.cps.length, this.pos + 1))}`);
      }
      this.pos++;
    }
  }

  private pushGroup(open: string, flags: Flags): void {
    this.stack.push(this.frame);
    this.frame = { out: '', flags: { ...flags }, last: { kind: 'none' }, open };
  }

  private closeGroup(): void {
    this.pos++;
    const inner = this.frame;
    const parent = this.stack.pop();
    if (!parent) this.fail(`unexpected ): ${this.pattern}`);
    this.frame = parent;
    this.atom(`${inner.open}${inner.out})`);
  }

  private escape(): void {
    const start = this.pos;
    this.pos++;
    const c = this.peek();
    if (c === '') this.fail('trailing \\');
    switch (c) {
      case 'A':
        this.pos++;
        return this.assertion('^');
      case 'z':
        this.pos++;
        return this.assertion('$');
      case 'b':
      case 'B':
        this.pos++;
        return this.assertion(`\\${c}`);
      case 'Q':
        return this.quoted();
      case 'C':
        this.pos++;
        return this.atom('[^]'); // any byte; for text input, any code point
      case 'Z':
        this.fail('\\Z is not supported by RE2 (use \\z for the end of the text)');
    }
    this.pos = start;
    const item = this.classEscape(false);
    if (item.kind === 'char') this.atom(this.literal(item.cp));
    else this.atom(this.classOf(item.ranges, item.properties, false));
  }

  /** `\Q…\E`: everything up to `\E` (or the end) is literal text. */
  private quoted(): void {
    this.pos++;
    while (this.pos < this.cps.length) {
      if (this.peek() === '\\' && this.peek(1) === 'E') {
        this.pos += 2;
        return;
      }
      this.atom(this.literal(this.cps[this.pos++]));
    }
  }

  private classOf(ranges: CodeRange[], properties: string[], negated: boolean): string {
    return writeClass(this.frame.flags.i ? caseFold(ranges) : ranges, properties, negated);
  }

  /** A bracketed class `[…]`, folded under (?i); `pos` is at `[`. */
  private charClass(): string {
    const { ranges, properties, negated } = this.bracketClass();
    if (properties.length > 0 && this.frame.flags.i) {
      // JavaScript only folds \p{…} under its own `i` flag; RE2 would fold them too. Rare enough to refuse clearly.
      this.fail('case-insensitive Unicode classes (\\p{…} under (?i)) are not supported');
    }
    return this.classOf(ranges, properties, negated);
  }
}
