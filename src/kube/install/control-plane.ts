/**
 * The control plane's objects: its namespace, identity and RBAC (read the mesh's resources; write
 * leases, root-cert ConfigMaps, the shared cacerts Secret and the webhook's caBundle; review tokens),
 * the mesh ConfigMap, the `istiod`
 * Deployment and Service (Istio's names and ports, so proxies and tools find it as they find
 * istiod), and the MutatingWebhookConfiguration with Istio's two selectors.
 */
import type { InstallValues } from './values.js';

type Obj = Record<string, unknown>;

/** A number as a command-line word (see helm-chart.ts for why placeholders need this). */
export function arg(x: number | string): string {
  return String(x).replace(/[«»]/g, '');
}

export const PART_OF = { 'app.kubernetes.io/part-of': 'sailfin' };

export function namespace(v: InstallValues): Obj {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: v.namespace, labels: PART_OF } };
}

const READ = ['get', 'list', 'watch'];

export function rbac(v: InstallValues): Obj[] {
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'istiod', namespace: v.namespace, labels: PART_OF } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'sailfin-istiod', labels: PART_OF },
      rules: [
        { apiGroups: [''], resources: ['namespaces', 'services', 'pods', 'serviceaccounts', 'endpoints', 'nodes'], verbs: READ },
        // create: the first leader shares its self-signed CA as the cacerts Secret (never updates one).
        { apiGroups: [''], resources: ['secrets'], verbs: [...READ, 'create'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
        { apiGroups: [''], resources: ['configmaps'], verbs: [...READ, 'create', 'update', 'patch'] },
        { apiGroups: ['networking.istio.io', 'security.istio.io'], resources: ['*'], verbs: READ },
        { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], verbs: [...READ, 'update', 'patch'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: [...READ, 'create', 'update', 'patch'] },
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'sailfin-istiod', labels: PART_OF },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'sailfin-istiod' },
      subjects: [{ kind: 'ServiceAccount', name: 'istiod', namespace: v.namespace }],
    },
  ];
}

/** The mesh config Sailfin reads from the ConfigMap `istio` (key `mesh`), with Istio's defaults spelled out. */
export function meshConfigMap(v: InstallValues): Obj {
  const mesh = ['trustDomain: cluster.local', `rootNamespace: ${v.namespace}`, 'enableAutoMtls: true', 'outboundTrafficPolicy:', '  mode: ALLOW_ANY', ''].join('\n');
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: v.namespace, labels: PART_OF }, data: { mesh } };
}

const LABELS = { app: 'istiod', istio: 'pilot', ...PART_OF };

/** An env var the kubelet fills from the pod's own fields (the downward API). */
export function fieldEnv(name: string, fieldPath: string): Obj {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

export function istiodDeployment(v: InstallValues): Obj {
  const p = v.pilot;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'istiod', namespace: v.namespace, labels: LABELS },
    spec: {
      replicas: p.replicas,
      selector: { matchLabels: { app: 'istiod' } },
      template: {
        metadata: { labels: LABELS, annotations: { 'sidecar.istio.io/inject': 'false' } },
        spec: {
          serviceAccountName: 'istiod',
          containers: [
            {
              name: 'discovery',
              image: v.image,
              imagePullPolicy: v.imagePullPolicy,
              args: [
                'discovery', '--in-cluster',
                '--port', arg(p.xdsPort),
                '--ca-port', arg(p.caPort),
                '--monitoring-port', arg(p.monitoringPort),
                '--webhook-port', arg(p.webhookPort),
                '--istio-namespace', v.namespace,
                '--proxy-image', v.image,
                '--revision', v.revision,
                '--ca-state-dir', '/var/lib/sailfin',
              ],
              env: [fieldEnv('POD_NAME', 'metadata.name'), fieldEnv('POD_NAMESPACE', 'metadata.namespace'), { name: 'SAILFIN_PROXY_IMAGE', value: v.image }],
              ports: [
                { name: 'grpc-xds', containerPort: p.xdsPort, protocol: 'TCP' },
                { name: 'https-dns', containerPort: p.caPort, protocol: 'TCP' },
                { name: 'http-monitoring', containerPort: p.monitoringPort, protocol: 'TCP' },
                { name: 'https-webhook', containerPort: p.webhookPort, protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: '/ready', port: p.monitoringPort }, initialDelaySeconds: 1, periodSeconds: 3, timeoutSeconds: 5 },
              resources: { requests: { cpu: '500m', memory: '512Mi' } },
              securityContext: { runAsNonRoot: true, runAsUser: 1337, runAsGroup: 1337, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [{ name: 'ca-state', mountPath: '/var/lib/sailfin' }],
            },
          ],
          volumes: [{ name: 'ca-state', emptyDir: {} }],
        },
      },
    },
  };
}

export function istiodService(v: InstallValues): Obj {
  const p = v.pilot;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'istiod', namespace: v.namespace, labels: LABELS },
    spec: {
      selector: { app: 'istiod' },
      ports: [
        { name: 'grpc-xds', port: 15010, targetPort: p.xdsPort, protocol: 'TCP' },
        { name: 'https-dns', port: 15012, targetPort: p.caPort, protocol: 'TCP' },
        { name: 'https-webhook', port: 443, targetPort: p.webhookPort, protocol: 'TCP' },
        { name: 'http-monitoring', port: 15014, targetPort: p.monitoringPort, protocol: 'TCP' },
        { name: 'https-webhook-direct', port: 15017, targetPort: p.webhookPort, protocol: 'TCP' },
      ],
    },
  };
}

/**
 * Istio's two webhooks: namespaces labelled istio-injection=enabled (unless the pod opts out), and
 * pods labelled sidecar.istio.io/inject=true in namespaces that say nothing. caBundle is left out:
 * the elected control-plane leader fills it with the mesh root.
 */
export function webhookConfiguration(v: InstallValues): Obj {
  const common = {
    clientConfig: { service: { name: 'istiod', namespace: v.namespace, path: '/inject', port: 443 } },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Fail',
    reinvocationPolicy: 'Never',
    timeoutSeconds: 10,
  };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'istio-sidecar-injector', labels: { ...PART_OF, 'istio.io/rev': v.revision } },
    webhooks: [
      {
        name: 'namespace.sidecar-injector.istio.io',
        ...common,
        namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] },
        objectSelector: { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }] },
      },
      {
        name: 'object.sidecar-injector.istio.io',
        ...common,
        namespaceSelector: {
          matchExpressions: [
            { key: 'istio-injection', operator: 'DoesNotExist' },
            { key: 'istio.io/rev', operator: 'DoesNotExist' },
          ],
        },
        objectSelector: {
          matchExpressions: [
            { key: 'sidecar.istio.io/inject', operator: 'In', values: ['true'] },
            { key: 'istio.io/rev', operator: 'DoesNotExist' },
          ],
        },
      },
    ],
  };
}
