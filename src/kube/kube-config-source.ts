/**
 * The Kubernetes source as the control plane's pluggable config source (`sailfin discovery
 * --kubeconfig FILE`, or `--in-cluster` with the pod's service-account token).
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { ConfigStore } from '../config/store.js';
import { SailfinError } from '../common/errors.js';
import { KubeSource, type KubeSourceOptions } from './source.js';

export function loadKubeConfig(kubeconfig: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig) kc.loadFromFile(kubeconfig);
    else kc.loadFromCluster();
  } catch (err) {
    throw new SailfinError('io', `cannot read the ${kubeconfig ? 'kubeconfig' : 'in-cluster config'}: ${(err as Error).message}`, kubeconfig ? { location: { file: kubeconfig } } : {});
  }
  if (!kc.getCurrentCluster()) throw new SailfinError('schema', `kubeconfig ${kubeconfig ?? '(in-cluster)'} has no current cluster`, kubeconfig ? { location: { file: kubeconfig }, field: 'current-context' } : {});
  return kc;
}

export class KubeConfigSource {
  private source: KubeSource | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly options: KubeSourceOptions = {},
  ) {}

  async start(store: ConfigStore): Promise<void> {
    this.source = new KubeSource(this.kc, store, this.options);
    await this.source.start();
  }

  stop(): void {
    this.source?.stop();
  }
}
