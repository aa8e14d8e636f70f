/**
 * xxHash64, the function Envoy hashes ring entries and request keys with, and the helpers the router
 * uses for hash_policy. A 64-bit result does not fit a JS number: ring positions and request hashes
 * use its high 32 bits (LbContext.hash is a 32-bit unsigned integer, so any 32-bit hash the router
 * computes lands in the same space), and xxHash64() gives the top 53 bits where more are useful. Arithmetic is done on 32-bit halves with Math.imul instead of BigInt because this runs
 * per request for RING_HASH / MAGLEV clusters and BigInt allocates on every operation.
 */

// Each 64-bit prime as [hi, lo].
const P1_HI = 0x9e3779b1, P1_LO = 0x85ebca87;
const P2_HI = 0xc2b2ae3d, P2_LO = 0x27d4eb4f;
const P3_HI = 0x165667b1, P3_LO = 0x9e3779f9;
const P4_HI = 0x85ebca77, P4_LO = 0xc2b2ae63;
const P5_HI = 0x27d4eb2f, P5_LO = 0x165667c5;

/**
 * The result register of mul/add/rotl: two unsigned 32-bit halves in a typed array. Module-level
 * `let` numbers above 2^31 would be boxed on every store (a heap allocation per operation); typed
 * array slots are not.
 */
const R = new Uint32Array(2);

/** (aHi,aLo) * (bHi,bLo) mod 2^64 into R[0]/R[1]. */
function mul(aHi: number, aLo: number, bHi: number, bLo: number): void {
  const a0 = aLo & 0xffff, a1 = aLo >>> 16, a2 = aHi & 0xffff, a3 = aHi >>> 16;
  const b0 = bLo & 0xffff, b1 = bLo >>> 16, b2 = bHi & 0xffff, b3 = bHi >>> 16;
  let c0 = a0 * b0;
  let c1 = (c0 >>> 16) + a0 * b1;
  let c2 = c1 >>> 16;
  c1 = (c1 & 0xffff) + a1 * b0;
  c2 += c1 >>> 16;
  c2 += a0 * b2;
  let c3 = c2 >>> 16;
  c2 = (c2 & 0xffff) + a1 * b1;
  c3 += c2 >>> 16;
  c2 = (c2 & 0xffff) + a2 * b0;
  c3 += c2 >>> 16;
  c3 += a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
  R[1] = (((c1 & 0xffff) << 16) | (c0 & 0xffff)) >>> 0;
  R[0] = (((c3 & 0xffff) << 16) | (c2 & 0xffff)) >>> 0;
}

function add(aHi: number, aLo: number, bHi: number, bLo: number): void {
  const lo = aLo + bLo;
  R[1] = lo >>> 0;
  R[0] = (aHi + bHi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

function rotl(hi: number, lo: number, n: number): void {
  if (n >= 32) {
    const t = hi;
    hi = lo;
    lo = t;
    n -= 32;
  }
  if (n === 0) {
    R[0] = hi >>> 0;
    R[1] = lo >>> 0;
    return;
  }
  R[0] = ((hi << n) | (lo >>> (32 - n))) >>> 0;
  R[1] = ((lo << n) | (hi >>> (32 - n))) >>> 0;
}

/** acc = rotl(acc + input * P2, 31) * P1 → R[0]/R[1]. */
function round(accHi: number, accLo: number, inHi: number, inLo: number): void {
  mul(inHi, inLo, P2_HI, P2_LO);
  add(accHi, accLo, R[0], R[1]);
  rotl(R[0], R[1], 31);
  mul(R[0], R[1], P1_HI, P1_LO);
}

function read32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

/** xxHash64 of the bytes, as [hi, lo] unsigned 32-bit halves written to `out`. */
export function xxHash64Parts(data: Uint8Array, len: number, seed: number, out: [number, number]): void {
  let p = 0;
  let hHi: number, hLo: number;
  const sHi = 0, sLo = seed >>> 0;
  if (len >= 32) {
    add(sHi, sLo, P1_HI, P1_LO); add(R[0], R[1], P2_HI, P2_LO);
    let v1Hi = R[0], v1Lo = R[1];
    add(sHi, sLo, P2_HI, P2_LO);
    let v2Hi = R[0], v2Lo = R[1];
    let v3Hi = sHi, v3Lo = sLo;
    // seed - P1 = seed + (2^64 - P1)
    add(sHi, sLo, ~P1_HI >>> 0, -P1_LO >>> 0); // P1_LO is non-zero, so no borrow into the high half
    let v4Hi = R[0], v4Lo = R[1];
    const limit = len - 32;
    do {
      round(v1Hi, v1Lo, read32(data, p + 4), read32(data, p)); v1Hi = R[0]; v1Lo = R[1]; p += 8;
      round(v2Hi, v2Lo, read32(data, p + 4), read32(data, p)); v2Hi = R[0]; v2Lo = R[1]; p += 8;
      round(v3Hi, v3Lo, read32(data, p + 4), read32(data, p)); v3Hi = R[0]; v3Lo = R[1]; p += 8;
      round(v4Hi, v4Lo, read32(data, p + 4), read32(data, p)); v4Hi = R[0]; v4Lo = R[1]; p += 8;
    } while (p <= limit);
    rotl(v1Hi, v1Lo, 1); hHi = R[0]; hLo = R[1];
    rotl(v2Hi, v2Lo, 7); add(hHi, hLo, R[0], R[1]); hHi = R[0]; hLo = R[1];
    rotl(v3Hi, v3Lo, 12); add(hHi, hLo, R[0], R[1]); hHi = R[0]; hLo = R[1];
    rotl(v4Hi, v4Lo, 18); add(hHi, hLo, R[0], R[1]); hHi = R[0]; hLo = R[1];
    const vs = [v1Hi, v1Lo, v2Hi, v2Lo, v3Hi, v3Lo, v4Hi, v4Lo];
    for (let i = 0; i < 8; i += 2) {
      round(0, 0, vs[i], vs[i + 1]);
      hHi = (hHi ^ R[0]) >>> 0; hLo = (hLo ^ R[1]) >>> 0;
      mul(hHi, hLo, P1_HI, P1_LO); add(R[0], R[1], P4_HI, P4_LO); hHi = R[0]; hLo = R[1];
    }
  } else {
    add(sHi, sLo, P5_HI, P5_LO); hHi = R[0]; hLo = R[1];
  }
  add(hHi, hLo, 0, len); hHi = R[0]; hLo = R[1];
  while (p + 8 <= len) {
    round(0, 0, read32(data, p + 4), read32(data, p));
    hHi = (hHi ^ R[0]) >>> 0; hLo = (hLo ^ R[1]) >>> 0;
    rotl(hHi, hLo, 27); mul(R[0], R[1], P1_HI, P1_LO); add(R[0], R[1], P4_HI, P4_LO); hHi = R[0]; hLo = R[1];
    p += 8;
  }
  if (p + 4 <= len) {
    mul(0, read32(data, p), P1_HI, P1_LO);
    hHi = (hHi ^ R[0]) >>> 0; hLo = (hLo ^ R[1]) >>> 0;
    rotl(hHi, hLo, 23); mul(R[0], R[1], P2_HI, P2_LO); add(R[0], R[1], P3_HI, P3_LO); hHi = R[0]; hLo = R[1];
    p += 4;
  }
  while (p < len) {
    mul(0, data[p], P5_HI, P5_LO);
    hHi = (hHi ^ R[0]) >>> 0; hLo = (hLo ^ R[1]) >>> 0;
    rotl(hHi, hLo, 11); mul(R[0], R[1], P1_HI, P1_LO); hHi = R[0]; hLo = R[1];
    p++;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  hLo = (hLo ^ (hHi >>> 1)) >>> 0;
  mul(hHi, hLo, P2_HI, P2_LO); hHi = R[0]; hLo = R[1];
  hLo = (hLo ^ ((hLo >>> 29) | (hHi << 3))) >>> 0;
  hHi = (hHi ^ (hHi >>> 29)) >>> 0;
  mul(hHi, hLo, P3_HI, P3_LO); hHi = R[0]; hLo = R[1];
  hLo = (hLo ^ hHi) >>> 0;
  out[0] = hHi;
  out[1] = hLo;
}

const parts: [number, number] = [0, 0];

/** Top 53 bits of a 64-bit hash, as a non-negative integer number (order-preserving). */
function top53(hi: number, lo: number): number {
  return hi * 2097152 + (lo >>> 11);
}

/** xxHash64 of a string's UTF-8 bytes (seed 0 unless given), reduced to its top 53 bits. */
export function xxHash64(key: string, seed = 0): number {
  let len = key.length;
  let ascii = true;
  for (let i = 0; i < len; i++) {
    if (key.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  let bytes: Uint8Array;
  if (ascii) {
    if (scratch.length < len) scratch = new Uint8Array(len * 2);
    for (let i = 0; i < len; i++) scratch[i] = key.charCodeAt(i);
    bytes = scratch;
  } else {
    bytes = encoder.encode(key);
    len = bytes.length;
  }
  xxHash64Parts(bytes, len, seed, parts);
  return top53(parts[0], parts[1]);
}

/** The full 64-bit xxHash64 as a hex string (for tests against published vectors). */
export function xxHash64Hex(key: string | Uint8Array, seed = 0): string {
  const bytes = typeof key === 'string' ? encoder.encode(key) : key;
  xxHash64Parts(bytes, bytes.length, seed, parts);
  return parts[0].toString(16).padStart(8, '0') + parts[1].toString(16).padStart(8, '0');
}

/** The high 32 bits of xxHash64: ring positions and request hashes live in the same 32-bit space. */
export function xxHash64Hi(key: string, seed = 0): number {
  xxHash64(key, seed);
  return parts[0];
}

/**
 * The hash for one hash_policy value (header, cookie, source IP, query parameter): an unsigned
 * 32-bit integer, the width LbContext.hash is defined with.
 */
export function hashKey(key: string): number {
  return xxHash64Hi(key, 0);
}

/** Folds a further hash_policy's hash into the running one, as Envoy does: rotate left by one, xor (32-bit). */
export function combineHashes(acc: number, next: number): number {
  return (((acc << 1) | (acc >>> 31)) ^ next) >>> 0;
}
