/**
 * Character classes for the RE2 translator (re2.ts). RE2's classes differ from JavaScript's in ways
 * that change what matches (`\s` has no `\v`, POSIX `[[:alpha:]]` exists, case folding is per flag
 * group), so a class is first reduced to plain code-point ranges and then written out as a JavaScript
 * class that means exactly that set.
 */

/** Inclusive code-point range. */
export type CodeRange = readonly [number, number];

export const MAX_CODE_POINT = 0x10ffff;

/** RE2's Perl classes are ASCII-only, unlike JavaScript's `\s` which also takes Unicode spaces. */
export const PERL_CLASSES: Readonly<Record<string, readonly CodeRange[]>> = {
  d: [[0x30, 0x39]],
  s: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]],
  w: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
};

const r = (a: string, b: string = a): CodeRange => [a.codePointAt(0)!, b.codePointAt(0)!];

export const POSIX_CLASSES: Readonly<Record<string, readonly CodeRange[]>> = {
  alnum: [r('0', '9'), r('A', 'Z'), r('a', 'z')],
  alpha: [r('A', 'Z'), r('a', 'z')],
  ascii: [[0x00, 0x7f]],
  blank: [r('\t'), r(' ')],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [r('0', '9')],
  graph: [r('!', '~')],
  lower: [r('a', 'z')],
  print: [r(' ', '~')],
  punct: [r('!', '/'), r(':', '@'), r('[', '`'), r('{', '~')],
  space: [[0x09, 0x0d], r(' ')],
  upper: [r('A', 'Z')],
  word: [r('0', '9'), r('A', 'Z'), r('a', 'z'), r('_')],
  xdigit: [r('0', '9'), r('A', 'F'), r('a', 'f')],
};

/** Sorted, non-overlapping, non-adjacent ranges. */
export function normalize(ranges: readonly CodeRange[]): CodeRange[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function complement(ranges: readonly CodeRange[]): CodeRange[] {
  const out: CodeRange[] = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

/** Folding a range wider than this code point by code point would be slow; only ASCII letters are folded then. */
const FOLD_LIMIT = 512;

/**
 * Adds the other case of every letter in the ranges (RE2's `(?i)`). ASCII is always exact; other
 * scripts are folded by simple one-to-one case mapping for ranges of modest size.
 */
export function caseFold(ranges: readonly CodeRange[]): CodeRange[] {
  const extra: CodeRange[] = [];
  for (const [lo, hi] of ranges) {
    addShifted(extra, lo, hi, 0x41, 0x5a, 0x20);
    addShifted(extra, lo, hi, 0x61, 0x7a, -0x20);
    if (hi >= 0x80 && hi - lo <= FOLD_LIMIT) {
      for (let cp = Math.max(lo, 0x80); cp <= hi; cp++) {
        for (const other of otherCases(cp)) extra.push([other, other]);
      }
    }
  }
  return normalize([...ranges, ...extra]);
}

function addShifted(out: CodeRange[], lo: number, hi: number, from: number, to: number, shift: number): void {
  const a = Math.max(lo, from);
  const b = Math.min(hi, to);
  if (a <= b) out.push([a + shift, b + shift]);
}

/** The other-case forms of one code point that are themselves a single code point. */
export function otherCases(cp: number): number[] {
  const ch = String.fromCodePoint(cp);
  const out: number[] = [];
  for (const variant of [ch.toLowerCase(), ch.toUpperCase()]) {
    const v = variant.codePointAt(0)!;
    if (v !== cp && String.fromCodePoint(v) === variant && !out.includes(v)) out.push(v);
  }
  return out;
}

/** A code point written so it means itself inside a JavaScript `u`-mode class. */
export function classLiteral(cp: number): string {
  if (cp === 0x5c || cp === 0x5d || cp === 0x5b || cp === 0x2d || cp === 0x5e) return `\\${String.fromCharCode(cp)}`;
  if (cp >= 0x20 && cp <= 0x7e) return String.fromCharCode(cp);
  return `\\u{${cp.toString(16)}}`;
}

const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split('').map((c) => c.codePointAt(0)!));

/** A code point written so it means itself outside a class in a JavaScript `u`-mode pattern. */
export function patternLiteral(cp: number): string {
  if (SYNTAX.has(cp)) return `\\${String.fromCharCode(cp)}`;
  if (cp >= 0x20 && cp <= 0x7e) return String.fromCharCode(cp);
  return `\\u{${cp.toString(16)}}`;
}

/**
 * The JavaScript class for a set of ranges plus Unicode property escapes (`\p{…}`) that cannot be
 * expanded to ranges here. Negation is done on the ranges when possible so the output stays simple.
 */
export function writeClass(ranges: readonly CodeRange[], properties: readonly string[], negated: boolean): string {
  let set = normalize(ranges);
  if (negated && properties.length === 0) {
    set = complement(set);
    negated = false;
  }
  const body = set.map(([lo, hi]) => (lo === hi ? classLiteral(lo) : `${classLiteral(lo)}-${classLiteral(hi)}`)).join('');
  return `[${negated ? '^' : ''}${body}${properties.join('')}]`;
}
