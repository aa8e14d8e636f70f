/** A KubeConfig pointing at the stand-in API server, with a bearer token the server can tell apart. */
import { KubeConfig } from '@kubernetes/client-node';

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
