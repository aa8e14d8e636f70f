/** A KubeConfig pointing at the stand-in API server, with a bearer token the server can tell apart. */
import { KubeConfig } from '@kubernetes/client-node';
import type { ConfigStore } from '../../src/config/store.js';
import { WorkloadFeed } from '../../src/discovery/workload-feed.js';
import { KubeSource, type KubeSourceOptions } from '../../src/kube/source.js';
import type { ServiceRegistry } from '../../src/registry/service-registry.js';

export function standInKubeConfig(server: string, token = 'not-checked'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'stand-in', server, skipTLSVerify: true }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'c', cluster: 'stand-in', user: 'u' }],
    currentContext: 'c',
  });
  return kc;
}

/**
 * A KubeSource on the stand-in API server feeding `store`, with the registry following the store as
 * in `sailfin discovery`; started (first list done) when the promise resolves. Short backoffs keep
 * relist tests fast.
 */
export async function startWatchedSource(server: string, store: ConfigStore, registry: ServiceRegistry, opts: KubeSourceOptions = {}): Promise<KubeSource> {
  const feed = new WorkloadFeed(store, registry);
  store.onChange((events) => feed.apply(events));
  const source = new KubeSource(standInKubeConfig(server), store, { backoff: { initialMs: 20, maxMs: 200 }, ...opts });
  await source.start();
  return source;
}
