/**
 * The workload side of certificate issuance (what istio-agent does next to Envoy): make a key here,
 * send only a CSR, hold the certificate that comes back, and replace it well before it expires.
 * Rotation follows Istio's grace-period rule: renew once (1 - graceRatio) of the lifetime has passed,
 * measured from when the certificate arrived, with a little jitter so pods started together do not
 * renew together. A failed renewal keeps the current certificate and retries with backoff.
 */
import { EventEmitter } from 'node:events';
import { createPrivateKey, type X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { SailfinError, errorMessage } from '../common/errors.js';
import { createCaClient } from './ca-service.js';
import { DEFAULT_CONTROL_PLANE_DNS_NAMES } from './control-plane-credentials.js';
import { generateKey, DEFAULT_KEY_ALGORITHM, type KeyAlgorithm } from './keys.js';
import { parseCertBundle } from './pem.js';
import { createWorkloadCsr } from './signer.js';
import { parseWorkloadSpiffeId, spiffeUri, spiffeUrisFromSubjectAltName, type WorkloadIdentity } from './spiffe.js';

/** Istio's SECRET_GRACE_PERIOD_RATIO default: renew at half the lifetime. */
export const DEFAULT_GRACE_RATIO = 0.5;
/** Istio's SECRET_GRACE_PERIOD_RATIO_JITTER default. */
export const DEFAULT_GRACE_JITTER = 0.01;

export interface WorkloadCertificate {
  identity: WorkloadIdentity;
  spiffeId: string;
  /** PKCS#8 PEM; generated in this process and never sent anywhere. */
  keyPem: string;
  /** The leaf then its intermediates: what a TLS server or client presents. */
  certChainPem: string;
  /** The trust anchors (ROOTCA). */
  rootsPem: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  receivedAt: Date;
}

/**
 * Asks the CA to sign a CSR; `current` is the certificate in hand (valid or not) so the source can
 * authenticate with it. Returns the response chain in Istio's order (root bundle last).
 */
export type CertificateSource = (csrPem: string, ttlSeconds: number, current: WorkloadCertificate | undefined) => Promise<string[]>;

export interface WorkloadCertificatesOptions {
  identity: WorkloadIdentity;
  source: CertificateSource;
  /** Requested lifetime; 0 lets the CA choose (24 h by default). */
  ttlMs?: number;
  graceRatio?: number;
  graceJitter?: number;
  keyAlgorithm?: KeyAlgorithm;
  /** Retry backoff after a failed renewal. */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

export interface WorkloadCertificatesEvents {
  update: [cert: WorkloadCertificate];
  error: [error: Error];
}

/** Checks a CA response and turns it into a certificate held with the key that made the CSR. */
export function acceptChain(chain: string[], keyPem: string, identity: WorkloadIdentity, receivedAt = new Date()): WorkloadCertificate {
  if (chain.length < 2) throw new SailfinError('runtime', 'the CA response has no root certificate');
  const rootsPem = chain[chain.length - 1];
  const certs = parseCertBundle(chain.slice(0, -1).join(''), 'CA response');
  parseCertBundle(rootsPem, 'CA response root');
  const leaf: X509Certificate = certs[0].cert;
  const spiffeId = spiffeUri(identity);
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new SailfinError('runtime', 'the CA returned a certificate for a different key');
  const ids = spiffeUrisFromSubjectAltName(leaf.subjectAltName);
  if (ids.length !== 1 || ids[0] !== spiffeId) throw new SailfinError('runtime', `the CA returned a certificate for ${ids.join(',') || 'no identity'}, expected ${spiffeId}`);
  parseWorkloadSpiffeId(ids[0]);
  return {
    identity,
    spiffeId,
    keyPem,
    certChainPem: certs.map((c) => c.pem).join(''),
    rootsPem: rootsPem.endsWith('\n') ? rootsPem : `${rootsPem}\n`,
    serialNumber: leaf.serialNumber,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    receivedAt,
  };
}

export class WorkloadCertificates extends EventEmitter<WorkloadCertificatesEvents> {
  private cert: WorkloadCertificate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  private readonly opts: Required<Omit<WorkloadCertificatesOptions, 'identity' | 'source'>> & Pick<WorkloadCertificatesOptions, 'identity' | 'source'>;

  constructor(options: WorkloadCertificatesOptions) {
    super();
    const graceRatio = options.graceRatio ?? DEFAULT_GRACE_RATIO;
    if (!(graceRatio > 0 && graceRatio < 1)) throw new SailfinError('semantic', `graceRatio must be between 0 and 1 (got ${graceRatio})`, { field: 'graceRatio' });
    spiffeUri(options.identity);
    this.opts = {
      ttlMs: 0,
      graceJitter: DEFAULT_GRACE_JITTER,
      keyAlgorithm: DEFAULT_KEY_ALGORITHM,
      retryInitialMs: 500,
      retryMaxMs: 30_000,
      ...options,
      graceRatio,
    };
  }

  get current(): WorkloadCertificate | undefined {
    return this.cert;
  }

  /** Gets the first certificate (rejecting if that fails) and starts rotating. */
  async start(): Promise<WorkloadCertificate> {
    const cert = await this.fetch();
    this.install(cert);
    return cert;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** When the certificate in hand should be replaced (absolute ms). */
  renewAt(cert: WorkloadCertificate): number {
    const lifetime = cert.notAfter.getTime() - cert.receivedAt.getTime();
    const jitter = (Math.random() * 2 - 1) * this.opts.graceJitter;
    const grace = Math.min(0.99, Math.max(0.01, this.opts.graceRatio + jitter));
    return cert.receivedAt.getTime() + lifetime * (1 - grace);
  }

  /** Renew now (also what the timer does). Keeps the current certificate if it fails. */
  async rotate(): Promise<WorkloadCertificate | undefined> {
    try {
      const cert = await this.fetch();
      if (this.stopped) return undefined;
      this.failures = 0;
      this.install(cert);
      return cert;
    } catch (err) {
      if (this.stopped) return undefined;
      this.failures++;
      const delay = Math.min(this.opts.retryMaxMs, this.opts.retryInitialMs * 2 ** (this.failures - 1));
      this.schedule(Date.now() + delay);
      this.emit('error', err instanceof Error ? err : new Error(errorMessage(err)));
      return undefined;
    }
  }

  private async fetch(): Promise<WorkloadCertificate> {
    const key = await generateKey(this.opts.keyAlgorithm);
    const csr = await createWorkloadCsr(key, this.opts.identity);
    const chain = await this.opts.source(csr, Math.round(this.opts.ttlMs / 1000), this.cert);
    return acceptChain(chain, key.pem, this.opts.identity);
  }

  private install(cert: WorkloadCertificate): void {
    this.cert = cert;
    this.schedule(this.renewAt(cert));
    this.emit('update', cert);
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => void this.rotate(), delay);
    this.timer.unref();
  }
}

export interface GrpcSourceOptions {
  /** host:port of the CA (the control plane's 15012, or 15010 in a trusted local network). */
  address: string;
  /** Roots to verify the CA's serving certificate; omit for a plaintext port. */
  caRootsPem?: string;
  /** The bootstrap token, read fresh for each request that needs it. */
  token?: () => string | undefined | Promise<string | undefined>;
  deadlineMs?: number;
  /** Name the CA's certificate is checked against; default istiod.istio-system.svc (the address may be an IP). */
  serverName?: string;
}

/**
 * CreateCertificate over gRPC. While the certificate in hand is valid (and the port is TLS) the
 * call presents it, and the CA authenticates by it; otherwise the bootstrap token decides. One short-lived
 * channel per request: the client certificate changes with every rotation.
 */
export function grpcCertificateSource(opts: GrpcSourceOptions): CertificateSource {
  return async (csr, ttlSeconds, current) => {
    const now = Date.now();
    const useCert = !!opts.caRootsPem && !!current && current.notAfter.getTime() > now + 1000 && current.notBefore.getTime() <= now;
    const roots = opts.caRootsPem ? Buffer.from(current?.rootsPem ?? opts.caRootsPem) : undefined;
    const creds = !roots
      ? grpc.credentials.createInsecure()
      : useCert
        ? grpc.credentials.createSsl(roots, Buffer.from(current!.keyPem), Buffer.from(current!.certChainPem))
        : grpc.credentials.createSsl(roots);
    // The token goes along even with a certificate: if the roots changed and the certificate no
    // longer verifies, the CA can still authenticate the workload instead of stranding it.
    const token = await opts.token?.();
    const serverName = opts.serverName ?? DEFAULT_CONTROL_PLANE_DNS_NAMES[0];
    const client = createCaClient(opts.address, creds, roots ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {});
    try {
      return await client.createCertificate({ csr, validityDurationSeconds: ttlSeconds }, { token, deadlineMs: opts.deadlineMs });
    } finally {
      client.close();
    }
  };
}
