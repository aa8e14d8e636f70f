/**
 * The CA's gRPC face: Istio's CreateCertificate, served on any @grpc/grpc-js server (the control
 * plane shares one with xDS, as istiod does on 15012). The caller is authenticated first, then
 * its CSR is signed for exactly that identity; each failure maps to the gRPC status Istio uses.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { SailfinError, errorMessage } from '../common/errors.js';
import { caServiceDefinition, type IstioCertificateRequest, type IstioCertificateResponse } from './ca-proto.js';
import type { CallerAuthenticator } from './caller-authenticator.js';
import type { MeshCa } from './mesh-ca.js';
import { spiffeUri } from './spiffe.js';

/** Istio's metadata key for a node agent asking on behalf of another identity; Sailfin has no such agents. */
const IMPERSONATION_KEY = 'ImpersonatedIdentity';

export interface CaServiceStats {
  issued: number;
  refused: number;
}

export interface CaServiceOptions {
  logger?: Logger;
}

type UnaryCall = grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>;

function statusError(code: grpc.status, details: string): Partial<grpc.StatusObject> {
  return { code, details };
}

/** Registers istio.v1.auth.IstioCertificateService on `server`; returns live counters. */
export function addCaService(server: grpc.Server, ca: MeshCa, authenticator: CallerAuthenticator, opts: CaServiceOptions = {}): CaServiceStats {
  const stats: CaServiceStats = { issued: 0, refused: 0 };
  const log = opts.logger;
  const refuse = (cb: grpc.sendUnaryData<IstioCertificateResponse>, code: grpc.status, details: string) => {
    stats.refused++;
    log?.warn({ code: grpc.status[code], details }, 'certificate request refused');
    cb(statusError(code, details), null);
  };
  const handler = async (call: UnaryCall, cb: grpc.sendUnaryData<IstioCertificateResponse>) => {
    let identity;
    try {
      identity = await authenticator.authenticate(call);
    } catch (err) {
      return refuse(cb, grpc.status.UNAUTHENTICATED, errorMessage(err));
    }
    if (call.request.metadata && IMPERSONATION_KEY in call.request.metadata) {
      return refuse(cb, grpc.status.PERMISSION_DENIED, `${IMPERSONATION_KEY} is not allowed: callers get certificates for their own identity only`);
    }
    const seconds = call.request.validity_duration;
    if (seconds < 0) return refuse(cb, grpc.status.INVALID_ARGUMENT, `validity_duration must not be negative (got ${seconds})`);
    try {
      const issued = await ca.sign({ csrPem: call.request.csr, identity, ttlMs: seconds * 1000 });
      stats.issued++;
      log?.info({ identity: spiffeUri(identity), notAfter: issued.notAfter.toISOString() }, 'issued workload certificate');
      cb(null, { cert_chain: issued.certChain });
    } catch (err) {
      if (err instanceof SailfinError) return refuse(cb, grpc.status.INVALID_ARGUMENT, errorMessage(err));
      refuse(cb, grpc.status.INTERNAL, `signing failed: ${errorMessage(err)}`);
    }
  };
  server.addService(caServiceDefinition, { CreateCertificate: (call: UnaryCall, cb: grpc.sendUnaryData<IstioCertificateResponse>) => void handler(call, cb) });
  return stats;
}

/** A typed client for CreateCertificate (what a workload agent uses). */
export interface CaClient {
  createCertificate(req: { csr: string; validityDurationSeconds?: number; metadata?: Record<string, unknown> }, opts?: { token?: string; deadlineMs?: number }): Promise<string[]>;
  close(): void;
}

const CaClientConstructor = grpc.makeGenericClientConstructor(caServiceDefinition, 'IstioCertificateService');

export function createCaClient(address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}): CaClient {
  const client = new CaClientConstructor(address, credentials, options);
  return {
    createCertificate(req, opts = {}) {
      const metadata = new grpc.Metadata();
      if (opts.token) metadata.set('authorization', `Bearer ${opts.token}`);
      const message: IstioCertificateRequest = { csr: req.csr, validity_duration: req.validityDurationSeconds ?? 0, metadata: req.metadata ?? {} };
      const deadline = new Date(Date.now() + (opts.deadlineMs ?? 10_000));
      return new Promise((resolve, reject) => {
        (client as unknown as {
          CreateCertificate(m: IstioCertificateRequest, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: IstioCertificateResponse) => void): void;
        }).CreateCertificate(message, metadata, { deadline }, (err, res) => {
          if (err) reject(err);
          else if (!res || res.cert_chain.length < 2) reject(new SailfinError('runtime', 'the CA answered without a certificate chain'));
          else resolve(res.cert_chain);
        });
      });
    },
    close: () => client.close(),
  };
}
