import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SailfinError } from '../../src/common/errors.js';
import { compileRe2, re2Error } from '../../src/config/re2.js';

const matches = (pattern: string, input: string): boolean => compileRe2(pattern).test(input);

describe('re2Error', () => {
  it('accepts ordinary RE2 patterns', () => {
    for (const p of ['/api/v[0-9]+/.*', '^/foo$', 'a|b|', '(?P<ver>v\\d+)', '(?<x>a)', '[[:alpha:]]+', '\\pL\\p{Greek}', 'a{2,5}', 'x{3}?', '(?i)abc', '(?is:a.b)', '\\Qa.b*\\E', '\\x{1F600}', '\\101', '[]a]', '[^]a]', 'a{,3}', '^*', '\\.']) {
      assert.equal(re2Error(p), undefined, p);
    }
  });

  it('explains lookaround, backreferences, possessive quantifiers and atomic groups', () => {
    assert.match(re2Error('foo(?=bar)')!, /lookahead/);
    assert.match(re2Error('foo(?!bar)')!, /lookahead/);
    assert.match(re2Error('(?<=a)b')!, /lookbehind/);
    assert.match(re2Error('(?<!a)b')!, /lookbehind/);
    assert.match(re2Error('(a)\\1')!, /backreferences/);
    assert.match(re2Error('(?P<n>a)(?P=n)')!, /backreferences/);
    assert.match(re2Error('\\k<n>')!, /backreferences/);
    assert.match(re2Error('a++')!, /possessive/);
    assert.match(re2Error('a*+')!, /possessive/);
    assert.match(re2Error('(?>ab)')!, /atomic/);
  });

  it('reports plain syntax errors with RE2 wording', () => {
    assert.match(re2Error('(abc')!, /missing closing \)/);
    assert.match(re2Error('abc)')!, /unexpected \)/);
    assert.match(re2Error('[abc')!, /missing closing \]/);
    assert.match(re2Error('*a')!, /missing argument to repetition operator: \*/);
    assert.match(re2Error('a**')!, /bad repetition operator: \*\*/);
    assert.match(re2Error('a{1001}')!, /bad repetition operator/);
    assert.match(re2Error('a{5,2}')!, /bad repetition operator/);
    assert.match(re2Error('[z-a]')!, /invalid character class range: z-a/);
    assert.match(re2Error('[[:foo:]]')!, /invalid character class range/);
    assert.match(re2Error('\\Z')!, /\\Z is not supported/);
    assert.match(re2Error('\\e')!, /invalid escape sequence: \\e/);
    assert.match(re2Error('a\\')!, /trailing/);
    assert.match(re2Error('(?x)a')!, /invalid or unsupported Perl syntax/);
    assert.match(re2Error('(?P<a>x)(?P<a>y)')!, /duplicate capture group name/);
    assert.match(re2Error('\\p{Klingon}')!, /invalid character class range/);
  });
});

describe('compileRe2', () => {
  it('matches the whole input, as safe_regex does', () => {
    assert.equal(matches('/api/.*', '/api/v1'), true);
    assert.equal(matches('/api', '/api/v1'), false);
    assert.equal(matches('a|b', 'ab'), false);
    assert.equal(matches('a|b', 'b'), true);
  });

  it('translates RE2-only syntax', () => {
    assert.equal(matches('(?P<v>v\\d+)-(?<n>x)', 'v12-x'), true);
    assert.equal(matches('\\Aab\\z', 'ab'), true);
    assert.equal(matches('(?i)jason', 'JaSoN'), true);
    assert.equal(matches('a(?i)b', 'aB'), true);
    assert.equal(matches('a(?i)b', 'AB'), false);
    assert.equal(matches('(?i:a)b', 'Ab'), true);
    assert.equal(matches('(?i:a)b', 'AB'), false);
    assert.equal(matches('(?i)[a-c]+', 'aBC'), true);
    assert.equal(matches('[[:alpha:]]+[[:digit:]]', 'abC1'), true);
    assert.equal(matches('[[:^alpha:]]', '1'), true);
    assert.equal(matches('[[:^alpha:]]', 'x'), false);
    assert.equal(matches('\\Qa.b\\E', 'a.b'), true);
    assert.equal(matches('\\Qa.b\\E', 'axb'), false);
    assert.equal(matches('\\x41\\x{42}\\103', 'ABC'), true);
    assert.equal(matches('[]a]+', ']a'), true);
    assert.equal(matches('a{,3}', 'a{,3}'), true);
    assert.equal(matches('\\pL+', 'héllo'), true);
    assert.equal(matches('\\p{Greek}', 'λ'), true);
    assert.equal(matches('\\-\\#\\!', '-#!'), true);
  });

  it('keeps RE2 meanings where JavaScript differs', () => {
    assert.equal(matches('.', '\n'), false);
    assert.equal(matches('.', '\r'), true, 'RE2 . only excludes \\n');
    assert.equal(matches('(?s).', '\n'), true);
    assert.equal(matches('\\s', '\u00a0'), false, 'RE2 \\s is ASCII only');
    assert.equal(matches('\\s', '\v'), false, 'RE2 \\s has no \\v');
    assert.equal(matches('[[:space:]]', '\v'), true);
    assert.equal(matches('(?m)a$\\nb', 'a\nb'), true);
    assert.equal(matches('a$\\nb', 'a\nb'), false);
    assert.equal(compileRe2('(?U)a+').source.includes('+?'), true, 'U swaps greediness');
  });

  it('throws a SailfinError for invalid patterns', () => {
    assert.throws(() => compileRe2('a(?=b)'), (err: unknown) => err instanceof SailfinError && /lookahead/.test(err.message));
  });
});
