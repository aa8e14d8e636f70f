/**
 * The mesh CA's own gRPC port (Istio's 15012): IstioCertificateService over TLS with the control
 * plane's serving certificate. Workloads bootstrap with their token and renew with their mesh
 * certificate; both are checked by the CA's authenticator.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { startControlPlaneCa, type ControlPlaneCa } from '../ca/index.js';

export interface CaServer {
  ca: ControlPlaneCa;
  port: number;
  close(): Promise<void>;
}

export async function startCaServer(opts: { stateDir: string; host: string; port: number; trustDomain: string; ipAddresses: string[]; logger: Logger }): Promise<CaServer> {
  const ca = await startControlPlaneCa({
    stateDir: opts.stateDir,
    trustDomain: opts.trustDomain,
    dnsNames: ['istiod.istio-system.svc', 'istiod.istio-system.svc.cluster.local', 'localhost'],
    ipAddresses: opts.ipAddresses,
    logger: opts.logger,
  });
  const server = new grpc.Server();
  ca.attach(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host}:${opts.port}`, ca.serverCredentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    ca,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        ca.stop();
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 2000).unref();
      }),
  };
}
