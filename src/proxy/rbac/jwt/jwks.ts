/**
 * JSON Web Key Sets (RFC 7517) turned into node:crypto public keys once, when the set arrives, so a
 * request only looks a key up and verifies. A PEM public key is accepted too, as Envoy does.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';

export interface Jwk {
  readonly kid: string | undefined;
  /** The algorithm the key is pinned to, when the set says so. */
  readonly alg: string | undefined;
  /** 'RSA' or 'EC' (the family the token's `alg` must belong to). */
  readonly kty: string;
  readonly key: KeyObject;
}

/** Parses a JWKS (or a single JWK, or a PEM public key); throws an Error saying what is wrong. */
export function parseJwks(text: string): Jwk[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    const key = createPublicKey(trimmed);
    return [{ kid: undefined, alg: undefined, kty: key.asymmetricKeyType === 'rsa' ? 'RSA' : 'EC', key }];
  }
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch {
    throw new Error('the JWKS is not valid JSON');
  }
  const list = isRecord(doc) && Array.isArray(doc.keys) ? doc.keys : isRecord(doc) && typeof doc.kty === 'string' ? [doc] : undefined;
  if (!list) throw new Error('the JWKS has no "keys" list');
  const out: Jwk[] = [];
  for (const k of list) {
    if (!isRecord(k) || (k.kty !== 'RSA' && k.kty !== 'EC')) continue; // other key types (oct, OKP) are skipped, as Envoy skips what it cannot use
    if (k.use !== undefined && k.use !== 'sig') continue;
    try {
      out.push({ kid: typeof k.kid === 'string' ? k.kid : undefined, alg: typeof k.alg === 'string' ? k.alg : undefined, kty: k.kty, key: createPublicKey({ key: k as JsonWebKey, format: 'jwk' }) });
    } catch (err) {
      throw new Error(`key ${typeof k.kid === 'string' ? JSON.stringify(k.kid) : list.indexOf(k)} is not a valid ${k.kty} key: ${(err as Error).message}`);
    }
  }
  if (out.length === 0) throw new Error('the JWKS has no usable RSA or EC signing key');
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
