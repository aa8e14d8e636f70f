/**
 * The mesh CA of a control plane running in a cluster (Istio's 15012): the same CA as the local
 * mesh's, following the `cacerts` Secret from the config store, with a serving certificate for the
 * control plane's Service names, and accepting Kubernetes service-account tokens (token-review.ts)
 * for a pod's first certificate.
 */
import * as grpc from '@grpc/grpc-js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { addCaService, startControlPlaneCa, type ControlPlaneCa } from '../ca/index.js';
import type { ConfigStore } from '../config/store.js';
import { webhookDnsNames } from '../inject/webhook-server.js';
import { KubeCallerAuthenticator, TokenReviewer } from './token-review.js';

export interface ClusterCa {
  ca: ControlPlaneCa;
  port: number;
  close(): Promise<void>;
}

export async function startClusterCa(opts: { kc: KubeConfig; store: ConfigStore; stateDir: string; host: string; port: number; namespace: string; trustDomain: string; logger: Logger }): Promise<ClusterCa> {
  const ca = await startControlPlaneCa({
    stateDir: opts.stateDir,
    trustDomain: opts.trustDomain,
    dnsNames: [...webhookDnsNames(opts.namespace), 'localhost'],
    ipAddresses: ['127.0.0.1'],
    caNamespace: opts.namespace,
    logger: opts.logger,
  });
  ca.onConfig(opts.store.list().map((resource) => ({ type: 'upsert' as const, resource })));
  const unsubscribe = opts.store.onChange(ca.onConfig);
  const server = new grpc.Server();
  addCaService(server, ca.ca, new KubeCallerAuthenticator(ca.authenticator, new TokenReviewer(opts.kc), ca.ca.trustDomain), { logger: opts.logger });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${opts.host}:${opts.port}`, ca.serverCredentials, (err, p) => (err ? reject(err) : resolve(p))));
  return {
    ca,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        ca.stop();
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 2000).unref();
      }),
  };
}
