import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineHashes, hashKey, xxHash64, xxHash64Hex } from '../../../src/proxy/upstream/hash.js';

// A direct BigInt transcription of the xxHash64 spec, slow but obviously right, to check the fast one.
const M = (1n << 64n) - 1n;
const P = [0x9e3779b185ebca87n, 0xc2b2ae3d27d4eb4fn, 0x165667b19e3779f9n, 0x85ebca77c2b2ae63n, 0x27d4eb2f165667c5n];
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, input: bigint): bigint => (rotl((acc + input * P[1]) & M, 31n) * P[0]) & M;
function reference(bytes: Uint8Array, seed: bigint): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    const v = [(seed + P[0] + P[1]) & M, (seed + P[1]) & M, seed, (seed - P[0]) & M];
    while (p + 32 <= len) {
      for (let i = 0; i < 4; i++, p += 8) v[i] = round(v[i], view.getBigUint64(p, true));
    }
    h = (rotl(v[0], 1n) + rotl(v[1], 7n) + rotl(v[2], 12n) + rotl(v[3], 18n)) & M;
    for (const x of v) h = (((h ^ round(0n, x)) * P[0]) + P[3]) & M;
  } else h = (seed + P[4]) & M;
  h = (h + BigInt(len)) & M;
  for (; p + 8 <= len; p += 8) h = ((rotl(h ^ round(0n, view.getBigUint64(p, true)), 27n) * P[0]) + P[3]) & M;
  if (p + 4 <= len) {
    h = ((rotl(h ^ ((BigInt(view.getUint32(p, true)) * P[0]) & M), 23n) * P[1]) + P[2]) & M;
    p += 4;
  }
  for (; p < len; p++) h = (rotl(h ^ ((BigInt(bytes[p]) * P[4]) & M), 11n) * P[0]) & M;
  h ^= h >> 33n;
  h = (h * P[1]) & M;
  h ^= h >> 29n;
  h = (h * P[2]) & M;
  return h ^ (h >> 32n);
}

test('xxHash64 matches the published vectors', () => {
  assert.equal(xxHash64Hex(''), 'ef46db3751d8e999');
  assert.equal(xxHash64Hex('a'), 'd24ec4f1a98c6e5b');
  assert.equal(xxHash64Hex('abc'), '44bc2cf5ad770999');
  assert.equal(xxHash64Hex('Nobody inspects the spammish repetition'), 'fbcea83c8a378bf1');
});

test('xxHash64 agrees with a BigInt reference for every length 0..100 and seeds 0 and 1, including UTF-8', () => {
  const enc = new TextEncoder();
  for (let len = 0; len <= 100; len++) {
    let s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(33 + ((i * 7 + len) % 90));
    if (len % 10 === 3) s += 'é→';
    for (const seed of [0, 1]) {
      const want = reference(enc.encode(s), BigInt(seed));
      assert.equal(xxHash64Hex(s, seed), want.toString(16).padStart(16, '0'), `len ${len} seed ${seed}`);
      assert.equal(xxHash64(s, seed), Number(want >> 11n), 'the number form is the top 53 bits');
    }
  }
});

test('hashKey is stable and spreads; combineHashes mixes order-dependently and stays an exact integer', () => {
  assert.equal(hashKey('user-1'), hashKey('user-1'));
  assert.notEqual(hashKey('user-1'), hashKey('user-2'));
  const a = hashKey('a');
  const b = hashKey('b');
  const ab = combineHashes(a, b);
  assert.ok(Number.isInteger(ab) && ab >= 0 && ab <= 0xffffffff, 'a 32-bit unsigned hash');
  assert.ok(a <= 0xffffffff && a >= 0);
  assert.notEqual(ab, combineHashes(b, a));
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 10000; i++) buckets[hashKey(`k${i}`) % 10]++;
  for (const n of buckets) assert.ok(n > 850 && n < 1150, `bucket ${n}`);
});
