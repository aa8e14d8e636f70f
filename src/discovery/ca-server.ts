/**
 * The mesh CA's own gRPC port (Istio's 15012): IstioCertificateService over TLS with the control
 * plane's serving certificate. Workloads bootstrap with their token and renew with their mesh
 * certificate; both are checked by the CA's authenticator.
 */
import type { Logger } from 'pino';
import { listenCa, startControlPlaneCa, type CaListener, type ControlPlaneCa } from '../ca/index.js';

export interface CaServer extends CaListener {
  ca: ControlPlaneCa;
}

export async function startCaServer(opts: { stateDir: string; host: string; port: number; trustDomain: string; ipAddresses: string[]; logger: Logger }): Promise<CaServer> {
  const ca = await startControlPlaneCa({
    stateDir: opts.stateDir,
    trustDomain: opts.trustDomain,
    dnsNames: ['istiod.istio-system.svc', 'istiod.istio-system.svc.cluster.local', 'localhost'],
    ipAddresses: opts.ipAddresses,
    logger: opts.logger,
  });
  const listening = await listenCa(ca, opts.host, opts.port, (server) => ca.attach(server));
  return { ca, ...listening };
}
