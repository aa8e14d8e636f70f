/**
 * Everything the control plane needs to run the mesh CA, in one call: the CA (self-signed from the
 * state dir, or plug-in), the bootstrap token issuer, the caller authenticator, TLS credentials for
 * the secure gRPC port, and the listener that follows the `cacerts` Secret. The xDS server attaches
 * the CA service to its own grpc-js server, so config and certificates share port 15012 as in Istio.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ConfigListener } from '../config/events.js';
import { errorMessage } from '../common/errors.js';
import { addCaService, type CaServiceStats } from './ca-service.js';
import { cacertsListener } from './cacerts-watch.js';
import { MeshCallerAuthenticator } from './caller-authenticator.js';
import { controlPlaneCredentials, type ControlPlaneServerCredentials } from './control-plane-credentials.js';
import { MeshCa, type MeshCaOptions } from './mesh-ca.js';
import { WorkloadTokenIssuer } from './workload-token.js';

export interface ControlPlaneCaOptions extends MeshCaOptions {
  /** Names and IPs in the secure port's serving certificate. */
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Namespace of the `cacerts` Secret to follow (default istio-system). */
  caNamespace?: string;
  logger?: Logger;
}

export interface ControlPlaneCa {
  ca: MeshCa;
  tokens: WorkloadTokenIssuer;
  authenticator: MeshCallerAuthenticator;
  /** For `server.bindAsync(':15012', credentials, …)`. */
  serverCredentials: ControlPlaneServerCredentials;
  /** Feed config store batches here to follow the `cacerts` Secret. */
  onConfig: ConfigListener;
  /** Adds IstioCertificateService to a grpc-js server (plaintext or TLS ports alike). */
  attach(server: grpc.Server): CaServiceStats;
  stop(): void;
}

export async function startControlPlaneCa(opts: ControlPlaneCaOptions): Promise<ControlPlaneCa> {
  const ca = await MeshCa.start(opts);
  // Without a state dir (plug-in CA only) tokens last as long as this process.
  const tokens = opts.stateDir ? await WorkloadTokenIssuer.loadOrCreate(opts.stateDir) : WorkloadTokenIssuer.generate();
  const authenticator = new MeshCallerAuthenticator(ca.trustDomain, tokens);
  const tls = await controlPlaneCredentials(ca, { dnsNames: opts.dnsNames, ipAddresses: opts.ipAddresses });
  const log = opts.logger;
  ca.on('changed', (b) => log?.info({ mode: b.mode, origin: b.origin }, 'mesh CA in force'));
  ca.on('rejected', (e) => log?.error({ error: errorMessage(e) }, 'plug-in CA refused; the previous CA stays in force'));
  return {
    ca,
    tokens,
    authenticator,
    serverCredentials: tls.credentials,
    onConfig: cacertsListener(ca, { namespace: opts.caNamespace }),
    attach: (server) => addCaService(server, ca, authenticator, { logger: log }),
    stop: () => tls.stop(),
  };
}
