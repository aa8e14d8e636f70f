/**
 * Applying the install to a cluster with server-side apply (field manager `sailfin`, forcing
 * ownership of the fields the install sets), one object at a time in install order, through the
 * kubeconfig's credentials. Fields others own — the caBundle the control-plane leader writes — are
 * left alone, so re-running the install does not break the webhook.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { SailfinError } from '../../common/errors.js';
import { answerMessage, requestJson } from '../api-client.js';
import type { KubeManifest } from './manifests.js';

const RESOURCES: Record<string, { plural: string; clusterScoped?: boolean }> = {
  CustomResourceDefinition: { plural: 'customresourcedefinitions', clusterScoped: true },
  Namespace: { plural: 'namespaces', clusterScoped: true },
  ClusterRole: { plural: 'clusterroles', clusterScoped: true },
  ClusterRoleBinding: { plural: 'clusterrolebindings', clusterScoped: true },
  MutatingWebhookConfiguration: { plural: 'mutatingwebhookconfigurations', clusterScoped: true },
  ServiceAccount: { plural: 'serviceaccounts' },
  ConfigMap: { plural: 'configmaps' },
  Secret: { plural: 'secrets' },
  Service: { plural: 'services' },
  Deployment: { plural: 'deployments' },
};

export function objectPath(o: KubeManifest): string {
  const r = RESOURCES[o.kind];
  if (!r) throw new SailfinError('unsupported', `sailfin install does not know where ${o.kind} objects live`, { field: 'kind' });
  const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
  const ns = r.clusterScoped ? '' : `/namespaces/${o.metadata.namespace ?? 'default'}`;
  return `${base}${ns}/${r.plural}/${o.metadata.name}`;
}

export async function applyManifests(kc: KubeConfig, objects: readonly KubeManifest[], report: (line: string) => void): Promise<void> {
  for (const o of objects) {
    const path = objectPath(o);
    const answer = await requestJson(kc, 'PATCH', path, { query: { fieldManager: 'sailfin', force: 'true' }, body: o, contentType: 'application/apply-patch+yaml' }).catch((err: unknown) => {
      throw new SailfinError('runtime', `cannot reach the API server to apply ${o.kind}/${o.metadata.name}: ${(err as Error).message}`);
    });
    if (answer.status >= 300) throw new SailfinError('runtime', `applying ${o.kind}/${o.metadata.name} failed: ${answerMessage(answer)}`);
    report(`${o.kind.toLowerCase()}/${o.metadata.name}${o.metadata.namespace ? ` (${o.metadata.namespace})` : ''} ${answer.status === 201 ? 'created' : 'applied'}`);
  }
}
