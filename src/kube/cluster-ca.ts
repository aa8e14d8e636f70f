/**
 * The mesh CA of a control plane running in a cluster (Istio's 15012): the same CA as the local
 * mesh's, following the `cacerts` Secret from the config store, with a serving certificate for the
 * control plane's Service names, and accepting Kubernetes service-account tokens (token-review.ts)
 * for a pod's first certificate.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { addCaService, listenCa, startControlPlaneCa, type CaListener, type ControlPlaneCa } from '../ca/index.js';
import type { ConfigStore } from '../config/store.js';
import { webhookDnsNames } from '../inject/webhook-server.js';
import { KubeCallerAuthenticator, TokenReviewer } from './token-review.js';

export interface ClusterCa extends CaListener {
  ca: ControlPlaneCa;
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
  const authenticator = new KubeCallerAuthenticator(ca.authenticator, new TokenReviewer(opts.kc), ca.ca.trustDomain);
  const listening = await listenCa(ca, opts.host, opts.port, (server) => addCaService(server, ca.ca, authenticator, { logger: opts.logger }), unsubscribe);
  return { ca, ...listening };
}
