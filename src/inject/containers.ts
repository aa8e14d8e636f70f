/**
 * The two containers injection adds, in the shape Istio's injection template gives them, running
 * Sailfin instead of pilot-agent + Envoy:
 * - `istio-init` (first init container, so capture is in place before any other container runs)
 *   runs `sailfin iptables` as root with NET_ADMIN/NET_RAW only;
 * - `istio-proxy` runs `sailfin proxy` as UID 1337 (never captured), builds its bootstrap from the
 *   pod's downward-API env and labels file, and reports readiness on the status port.
 */
import { SailfinError } from '../common/errors.js';
import { parseYaml } from '../config/yaml-documents.js';
import type { Container, Pod } from './pod.js';
import { INIT_CONTAINER, PROXY_CONTAINER } from './pod.js';
import type { InjectValues } from './values.js';

export const PROXY_CONFIG_ANNOTATION = 'proxy.istio.io/config';
export const POD_INFO_DIR = '/etc/istio/pod';
/** Bootstrap token and mesh root side by side, as `sailfin proxy --identity-dir` reads them. */
export const IDENTITY_DIR = '/var/run/secrets/tokens';
export const ROOT_CERT_DIR = '/var/run/secrets/istio';

export interface ProxyContext {
  workloadName: string;
  statusPort: number;
  /** Already checked: a `proxy.istio.io/config` mapping, possibly empty. */
  proxyConfig: Record<string, unknown>;
}

type Resources = { requests?: Record<string, string>; limits?: Record<string, string> };

function fieldEnv(name: string, fieldPath: string): Record<string, unknown> {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

/** The pod's `proxy.istio.io/config` annotation (YAML or JSON ProxyConfig), refused when not a mapping. */
export function parseProxyConfigAnnotation(pod: Pod): Record<string, unknown> {
  const text = pod.metadata?.annotations?.[PROXY_CONFIG_ANNOTATION];
  if (text === undefined || text.trim() === '') return {};
  const field = `metadata.annotations["${PROXY_CONFIG_ANNOTATION}"]`;
  const parsed = parseYaml(text);
  if (parsed.problems.length > 0) throw new SailfinError('yaml', `not valid YAML: ${parsed.problems[0].message}`, { field });
  const value = parsed.documents[0]?.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || parsed.documents.length !== 1) {
    throw new SailfinError('schema', 'must be one ProxyConfig mapping (e.g. "holdApplicationUntilProxyStarts: true")', { field });
  }
  const metadata = (value as Record<string, unknown>).proxyMetadata;
  if (metadata !== undefined && (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))) {
    throw new SailfinError('schema', 'proxyMetadata must be a mapping of environment variables', { field: `${field}.proxyMetadata` });
  }
  return value as Record<string, unknown>;
}

/** sidecar.istio.io/proxyCPU|Memory (requests) and proxyCPULimit|MemoryLimit, else the install's defaults. */
export function proxyResources(pod: Pod, values: InjectValues): Resources {
  const a = pod.metadata?.annotations ?? {};
  const requests: Record<string, string> = {
    cpu: a['sidecar.istio.io/proxyCPU'] ?? values.proxyCpu,
    memory: a['sidecar.istio.io/proxyMemory'] ?? values.proxyMemory,
  };
  const limits: Record<string, string> = {};
  if (a['sidecar.istio.io/proxyCPULimit']) limits.cpu = a['sidecar.istio.io/proxyCPULimit'];
  if (a['sidecar.istio.io/proxyMemoryLimit']) limits.memory = a['sidecar.istio.io/proxyMemoryLimit'];
  return Object.keys(limits).length > 0 ? { requests, limits } : { requests };
}

export function proxyContainer(pod: Pod, values: InjectValues, ctx: ProxyContext): Container {
  const apps = pod.spec?.containers ?? [];
  const podPorts = apps.flatMap((c) => c.ports ?? []);
  const metadataEnv = Object.entries((ctx.proxyConfig.proxyMetadata ?? {}) as Record<string, unknown>).map(([name, value]) => ({ name, value: String(value) }));
  const proxyConfig = { discoveryAddress: values.caAddress, ...ctx.proxyConfig };
  const args = [
    'proxy',
    '--type', 'sidecar',
    '--discovery-address', values.xdsAddress,
    '--admin-port', '15000',
    '--stats-port', '15020',
    '--envoy-prom-port', '15090',
    '--identity-dir', IDENTITY_DIR,
    '--ca-address', values.caAddress,
    '--trust-domain', values.trustDomain,
  ];
  if (ctx.statusPort > 0) args.push('--health-port', String(ctx.statusPort));
  const container: Container = {
    name: PROXY_CONTAINER,
    image: values.image,
    imagePullPolicy: values.imagePullPolicy,
    args,
    env: [
      fieldEnv('POD_NAME', 'metadata.name'),
      fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
      fieldEnv('INSTANCE_IP', 'status.podIP'),
      fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
      fieldEnv('HOST_IP', 'status.hostIP'),
      fieldEnv('ISTIO_META_NODE_NAME', 'spec.nodeName'),
      { name: 'PILOT_CERT_PROVIDER', value: 'istiod' },
      { name: 'CA_ADDR', value: values.caAddress },
      { name: 'PROXY_CONFIG', value: JSON.stringify(proxyConfig) },
      { name: 'ISTIO_META_POD_PORTS', value: JSON.stringify(podPorts) },
      { name: 'ISTIO_META_APP_CONTAINERS', value: apps.map((c) => c.name).join(',') },
      { name: 'ISTIO_META_CLUSTER_ID', value: 'Kubernetes' },
      { name: 'ISTIO_META_INTERCEPTION_MODE', value: pod.metadata?.annotations?.['sidecar.istio.io/interceptionMode'] ?? 'REDIRECT' },
      { name: 'ISTIO_META_WORKLOAD_NAME', value: ctx.workloadName },
      { name: 'ISTIO_META_MESH_ID', value: values.trustDomain },
      { name: 'TRUST_DOMAIN', value: values.trustDomain },
      { name: 'SAILFIN_LOG_LEVEL', value: values.logLevel === 'warning' ? 'warn' : values.logLevel },
      ...metadataEnv,
    ],
    ports: [
      { containerPort: 15090, protocol: 'TCP', name: 'http-envoy-prom' },
      { containerPort: 15020, protocol: 'TCP', name: 'http-merged' },
      ...(ctx.statusPort > 0 ? [{ containerPort: ctx.statusPort, protocol: 'TCP', name: 'http-health' }] : []),
    ],
    resources: proxyResources(pod, values),
    securityContext: {
      runAsUser: values.proxyUid,
      runAsGroup: values.proxyUid,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: 'istio-envoy', mountPath: '/etc/istio/proxy' },
      { name: 'istio-data', mountPath: '/var/lib/istio/data' },
      { name: 'istio-podinfo', mountPath: POD_INFO_DIR },
      { name: 'istio-token', mountPath: IDENTITY_DIR },
      { name: 'istiod-ca-cert', mountPath: ROOT_CERT_DIR },
    ],
  };
  if (ctx.statusPort > 0) {
    container.readinessProbe = {
      httpGet: { path: '/healthz/ready', port: ctx.statusPort },
      initialDelaySeconds: 1,
      periodSeconds: 2,
      timeoutSeconds: 3,
      failureThreshold: 30,
    };
  }
  return container;
}

export function initContainer(args: string[], pod: Pod, values: InjectValues): Container {
  return {
    name: INIT_CONTAINER,
    image: values.image,
    imagePullPolicy: values.imagePullPolicy,
    args,
    resources: proxyResources(pod, values),
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
  };
}

/** The pod-level volumes the proxy mounts. The token volume also carries the mesh root, so one directory holds both. */
export function sidecarVolumes(): { name: string; [field: string]: unknown }[] {
  return [
    { name: 'istio-envoy', emptyDir: { medium: 'Memory' } },
    { name: 'istio-data', emptyDir: {} },
    {
      name: 'istio-podinfo',
      downwardAPI: {
        items: [
          { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
          { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
        ],
      },
    },
    {
      name: 'istio-token',
      projected: {
        sources: [
          { serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } },
          { configMap: { name: 'istio-ca-root-cert', items: [{ key: 'root-cert.pem', path: 'root-cert.pem' }] } },
        ],
      },
    },
    { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } },
  ];
}
