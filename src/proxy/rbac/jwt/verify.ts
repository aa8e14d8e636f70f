/**
 * JWT checks as Envoy's jwt_authn makes them (RFC 7519 compact form, RS256/384/512, PS256/384/512,
 * ES256/384/512), each failure reported with Envoy's status text, which is also the 401 body.
 */
import { verify as cryptoVerify, constants } from 'node:crypto';
import type { Jwk } from './jwks.js';

export const JwtStatus = {
  Missing: 'Jwt is missing',
  BadFormat: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  BadHeader: 'Jwt header is an invalid JSON',
  BadPayload: 'Jwt payload is an invalid JSON',
  BadAlg: 'Jwt algorithm is not supported',
  Expired: 'Jwt is expired',
  NotYetValid: 'Jwt not valid yet',
  ExpRequired: 'Jwt expiration is required',
  UnknownIssuer: 'Jwt issuer is not configured',
  BadAudience: 'Audiences in Jwt are not allowed',
  Verification: 'Jwt verification fails',
  NoKey: 'Jwks doesn\'t have key to match kid or alg from Jwt',
  JwksFetch: 'Jwks remote fetch is failed',
} as const;

export interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  readonly signingInput: string;
  readonly signature: Buffer;
}

export class JwtError extends Error {}

/** Splits and decodes a compact JWT without checking anything but its form. */
export function decodeJwt(token: string): DecodedJwt {
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (first < 0 || second < 0 || token.indexOf('.', second + 1) >= 0) throw new JwtError(JwtStatus.BadFormat);
  const header = parseJson(token.slice(0, first), JwtStatus.BadHeader);
  const payload = parseJson(token.slice(first + 1, second), JwtStatus.BadPayload);
  return { header, payload, signingInput: token.slice(0, second), signature: Buffer.from(token.slice(second + 1), 'base64url') };
}

function parseJson(part: string, status: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new JwtError(status);
}

interface AlgSpec {
  readonly kty: 'RSA' | 'EC';
  readonly hash: string;
  readonly pss?: boolean;
}

const ALGS: Record<string, AlgSpec> = {
  RS256: { kty: 'RSA', hash: 'sha256' },
  RS384: { kty: 'RSA', hash: 'sha384' },
  RS512: { kty: 'RSA', hash: 'sha512' },
  PS256: { kty: 'RSA', hash: 'sha256', pss: true },
  PS384: { kty: 'RSA', hash: 'sha384', pss: true },
  PS512: { kty: 'RSA', hash: 'sha512', pss: true },
  ES256: { kty: 'EC', hash: 'sha256' },
  ES384: { kty: 'EC', hash: 'sha384' },
  ES512: { kty: 'EC', hash: 'sha512' },
};

/** Verifies the signature with the keys that fit the token's kid and alg; throws JwtError. */
export function verifySignature(jwt: DecodedJwt, keys: readonly Jwk[]): void {
  const alg = jwt.header.alg;
  const spec = typeof alg === 'string' ? ALGS[alg] : undefined;
  if (!spec) throw new JwtError(JwtStatus.BadAlg);
  const kid = typeof jwt.header.kid === 'string' ? jwt.header.kid : undefined;
  const data = Buffer.from(jwt.signingInput);
  let candidates = 0;
  for (const k of keys) {
    if (k.kty !== spec.kty || (k.alg !== undefined && k.alg !== alg) || (kid !== undefined && k.kid !== undefined && k.kid !== kid)) continue;
    candidates++;
    const key = spec.kty === 'EC'
      ? { key: k.key, dsaEncoding: 'ieee-p1363' as const }
      : spec.pss ? { key: k.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : k.key;
    try {
      if (cryptoVerify(spec.hash, data, key, jwt.signature)) return;
    } catch {
      // a key of the wrong curve or size simply does not verify
    }
  }
  throw new JwtError(candidates === 0 ? JwtStatus.NoKey : JwtStatus.Verification);
}

/** exp / nbf with the provider's clock skew, in seconds since the epoch. */
export function checkTimes(payload: Record<string, unknown>, nowSec: number, skewSec: number, requireExp: boolean): void {
  const exp = payload.exp;
  const nbf = payload.nbf;
  if (exp === undefined && requireExp) throw new JwtError(JwtStatus.ExpRequired);
  if (exp !== undefined && (typeof exp !== 'number' || exp + skewSec < nowSec)) throw new JwtError(JwtStatus.Expired);
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf - skewSec > nowSec)) throw new JwtError(JwtStatus.NotYetValid);
}

/** The token's audiences (`aud` may be one string or a list). */
export function audiencesOf(payload: Record<string, unknown>): string[] {
  const aud = payload.aud;
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}
