/**
 * Bootstrap credentials for the local mesh, standing in for Kubernetes service-account tokens: the
 * control plane hands each pod, when it starts it, a token naming the pod's namespace and service
 * account, MAC'd with a key only the control plane holds. A workload presents it once to get its
 * first certificate; renewals authenticate with that certificate over mTLS instead. The token is a
 * bearer secret: whoever reads it can get certificates for that identity until it expires, so it is
 * written only into the pod's own private state and kept short-lived (docs/security.md).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SailfinError } from '../common/errors.js';
import { spiffeUri, type WorkloadIdentity } from './spiffe.js';

const PREFIX = 'sfwt1';
/** Tokens are only for the first certificate (and recovery after a lapse), so a day is plenty. */
export const DEFAULT_TOKEN_TTL_MS = 24 * 3600 * 1000;
const KEY_FILE = 'workload-token.key';
const AUDIENCE = 'istio-ca';

interface TokenClaims {
  td: string;
  ns: string;
  sa: string;
  aud: string;
  iat: number;
  exp: number;
}

function unauthenticated(message: string): SailfinError {
  return new SailfinError('semantic', message, { field: 'authorization' });
}

export class WorkloadTokenIssuer {
  private constructor(private readonly key: Buffer) {}

  static generate(): WorkloadTokenIssuer {
    return new WorkloadTokenIssuer(randomBytes(32));
  }

  /** Keeps the MAC key next to the CA so tokens handed out before a control-plane restart stay valid. */
  static async loadOrCreate(stateDir: string): Promise<WorkloadTokenIssuer> {
    const dir = join(stateDir, 'ca');
    const path = join(dir, KEY_FILE);
    try {
      const key = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
      if (key.length < 32) throw new SailfinError('semantic', 'token key is shorter than 32 bytes', { location: { file: path } });
      return new WorkloadTokenIssuer(key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const issuer = WorkloadTokenIssuer.generate();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(`${path}.tmp`, issuer.key.toString('base64') + '\n', { mode: 0o600 });
    await rename(`${path}.tmp`, path);
    return issuer;
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(`${PREFIX}.${payload}`).digest();
  }

  issue(identity: WorkloadIdentity, ttlMs = DEFAULT_TOKEN_TTL_MS, now = Date.now()): string {
    spiffeUri(identity); // validates every part
    const claims: TokenClaims = { td: identity.trustDomain, ns: identity.namespace, sa: identity.serviceAccount, aud: AUDIENCE, iat: now, exp: now + ttlMs };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${PREFIX}.${payload}.${this.mac(payload).toString('base64url')}`;
  }

  /** The identity a token proves; any defect is one generic message so a forger learns nothing. */
  verify(token: string, now = Date.now()): WorkloadIdentity {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== PREFIX) throw unauthenticated('not a Sailfin workload token');
    const given = Buffer.from(parts[2], 'base64url');
    const expected = this.mac(parts[1]);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthenticated('workload token signature is invalid');
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      throw unauthenticated('workload token payload is unreadable');
    }
    if (claims.aud !== AUDIENCE) throw unauthenticated('workload token is for another audience');
    if (typeof claims.exp !== 'number' || now >= claims.exp) throw unauthenticated('workload token has expired');
    return { trustDomain: claims.td, namespace: claims.ns, serviceAccount: claims.sa };
  }
}
