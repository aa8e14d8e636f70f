/**
 * The two pieces of cluster state the control plane writes, both done by the elected leader only:
 * - the mesh root as `caBundle` of every webhook in the MutatingWebhookConfiguration, so the API
 *   server trusts the webhook's mesh-CA certificate (a JSON Patch touching only that field);
 * - the `istio-ca-root-cert` ConfigMap (`root-cert.pem`) in each namespace, which injected pods
 *   mount to verify the control plane;
 * - once, the leader's self-signed CA as the `cacerts` Secret, which every replica's CA follows, so
 *   replicas that each started with their own root converge on one (Istio shares istio-ca-secret
 *   for the same reason). Create-only: an existing `cacerts` (a user's plug-in CA) is never touched.
 * Writes carry the read resourceVersion; a 409 is left to the next round, which reads again.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { CaBundle } from '../ca/ca-bundle.js';
import { rootBundlePem } from '../ca/ca-bundle.js';
import { answerMessage, requestJson } from './api-client.js';

export const ROOT_CERT_CONFIGMAP = 'istio-ca-root-cert';
export const ROOT_CERT_KEY = 'root-cert.pem';
/** Namespaces that never run meshed pods (Istio leaves them alone too). */
const SKIPPED_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

interface WebhookConfiguration {
  metadata: { resourceVersion?: string };
  webhooks?: { name: string; clientConfig?: { caBundle?: string } }[];
}

/** Returns how many webhooks were changed (0 when already current); throws on API errors other than 409. */
export async function patchWebhookCaBundle(kc: KubeConfig, configName: string, rootsPem: string): Promise<number> {
  const path = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${configName}`;
  const got = await requestJson(kc, 'GET', path);
  if (got.status === 404) throw new Error(`MutatingWebhookConfiguration ${configName} does not exist (install it with sailfin install)`);
  if (got.status !== 200) throw new Error(`reading MutatingWebhookConfiguration ${configName}: ${answerMessage(got)}`);
  const config = got.body as WebhookConfiguration;
  const caBundle = Buffer.from(rootsPem).toString('base64');
  const ops: unknown[] = [{ op: 'test', path: '/metadata/resourceVersion', value: config.metadata.resourceVersion }];
  (config.webhooks ?? []).forEach((w, i) => {
    if (w.clientConfig?.caBundle === caBundle) return;
    ops.push({ op: 'add', path: w.clientConfig ? `/webhooks/${i}/clientConfig/caBundle` : `/webhooks/${i}/clientConfig`, value: w.clientConfig ? caBundle : { caBundle } });
  });
  if (ops.length === 1) return 0;
  const patched = await requestJson(kc, 'PATCH', path, { body: ops, contentType: 'application/json-patch+json' });
  if (patched.status === 409 || patched.status === 422) return 0; // changed under us: the next round reads again
  if (patched.status >= 300) throw new Error(`patching caBundle of ${configName}: ${answerMessage(patched)}`);
  return ops.length - 1;
}

/** Creates or updates the root-cert ConfigMap in `namespace`; true when something was written. */
export async function publishRootCert(kc: KubeConfig, namespace: string, rootsPem: string): Promise<boolean> {
  if (SKIPPED_NAMESPACES.has(namespace)) return false;
  const collection = `/api/v1/namespaces/${namespace}/configmaps`;
  const got = await requestJson(kc, 'GET', `${collection}/${ROOT_CERT_CONFIGMAP}`);
  const labels = { 'istio.io/config': 'true', 'app.kubernetes.io/managed-by': 'sailfin' };
  if (got.status === 404) {
    const created = await requestJson(kc, 'POST', collection, {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CERT_CONFIGMAP, namespace, labels }, data: { [ROOT_CERT_KEY]: rootsPem } },
    });
    if (created.status === 409) return false;
    if (created.status >= 300) throw new Error(`creating ${namespace}/${ROOT_CERT_CONFIGMAP}: ${answerMessage(created)}`);
    return true;
  }
  if (got.status !== 200) throw new Error(`reading ${namespace}/${ROOT_CERT_CONFIGMAP}: ${answerMessage(got)}`);
  const current = got.body as { metadata: Record<string, unknown>; data?: Record<string, string> };
  if (current.data?.[ROOT_CERT_KEY] === rootsPem) return false;
  const updated = await requestJson(kc, 'PUT', `${collection}/${ROOT_CERT_CONFIGMAP}`, { body: { ...current, data: { ...current.data, [ROOT_CERT_KEY]: rootsPem } } });
  if (updated.status === 409) return false;
  if (updated.status >= 300) throw new Error(`updating ${namespace}/${ROOT_CERT_CONFIGMAP}: ${answerMessage(updated)}`);
  return true;
}

/** Creates `cacerts` from a self-signed bundle unless it exists; true when this call created it. */
export async function shareSelfSignedCa(kc: KubeConfig, namespace: string, bundle: CaBundle): Promise<boolean> {
  if (bundle.mode !== 'self-signed') return false;
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: 'cacerts', namespace, labels: { 'app.kubernetes.io/managed-by': 'sailfin' }, annotations: { 'sailfin.io/origin': 'self-signed root of the first control-plane leader' } },
    data: {
      'ca-cert.pem': b64(bundle.signingCert.pem),
      'ca-key.pem': b64(bundle.signingKey.pem),
      'root-cert.pem': b64(rootBundlePem(bundle)),
      'cert-chain.pem': b64(bundle.signingCert.pem),
    },
  };
  const created = await requestJson(kc, 'POST', `/api/v1/namespaces/${namespace}/secrets`, { body: secret });
  if (created.status === 409) return false;
  if (created.status >= 300) throw new Error(`creating ${namespace}/cacerts: ${answerMessage(created)}`);
  return true;
}
