/**
 * The ingress gateway: `sailfin proxy --type router` in its own Deployment (labels `istio:
 * ingressgateway`, which Gateway resources select), its bootstrap built from the pod's env as an
 * injected sidecar's is, behind a LoadBalancer Service that maps 80→8080 and 443→8443 as Istio's
 * does (Gateway resources, like bookinfo's, listen on 8080). The pod lowers the unprivileged port
 * floor, as Istio's gateways do, so a Gateway on port 80 can bind too without root.
 */
import { IDENTITY_DIR, POD_INFO_DIR, sidecarVolumes } from '../../inject/containers.js';
import { injectValuesFor } from '../../inject/values.js';
import { PART_OF, fieldEnv } from './control-plane.js';
import type { InstallValues } from './values.js';

type Obj = Record<string, unknown>;

const LABELS = { app: 'istio-ingressgateway', istio: 'ingressgateway', ...PART_OF };

export function ingressGateway(v: InstallValues): Obj[] {
  const g = v.gateway;
  // The same control-plane addresses and token volume an injected sidecar gets.
  const { xdsAddress, caAddress } = injectValuesFor(v.namespace);
  const tokenVolume = sidecarVolumes().find((vol) => vol.name === 'istio-token');
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'istio-ingressgateway', namespace: v.namespace, labels: PART_OF } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'istio-ingressgateway', namespace: v.namespace, labels: LABELS },
      spec: {
        replicas: g.replicas,
        selector: { matchLabels: { istio: 'ingressgateway' } },
        template: {
          metadata: { labels: LABELS, annotations: { 'sidecar.istio.io/inject': 'false', 'prometheus.io/scrape': 'true', 'prometheus.io/port': '15020', 'prometheus.io/path': '/stats/prometheus' } },
          spec: {
            serviceAccountName: 'istio-ingressgateway',
            securityContext: { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] },
            containers: [
              {
                name: 'istio-proxy',
                image: v.image,
                imagePullPolicy: v.imagePullPolicy,
                args: [
                  'proxy', '--type', 'router', '--discovery-address', xdsAddress,
                  '--admin-port', '15000', '--health-port', '15021', '--stats-port', '15020', '--envoy-prom-port', '15090',
                  // its own workload certificate, for mTLS to the sidecars behind it
                  '--identity-dir', IDENTITY_DIR, '--ca-address', caAddress,
                ],
                env: [
                  fieldEnv('POD_NAME', 'metadata.name'),
                  fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                  fieldEnv('INSTANCE_IP', 'status.podIP'),
                  fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
                  { name: 'ISTIO_META_WORKLOAD_NAME', value: 'istio-ingressgateway' },
                  { name: 'ISTIO_META_CLUSTER_ID', value: 'Kubernetes' },
                ],
                ports: [
                  { name: 'http2', containerPort: 8080, protocol: 'TCP' },
                  { name: 'https', containerPort: 8443, protocol: 'TCP' },
                  { name: 'status-port', containerPort: 15021, protocol: 'TCP' },
                  { name: 'http-envoy-prom', containerPort: 15090, protocol: 'TCP' },
                ],
                readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021 }, initialDelaySeconds: 1, periodSeconds: 2, failureThreshold: 30 },
                resources: { requests: { cpu: '100m', memory: '128Mi' } },
                securityContext: { runAsNonRoot: true, runAsUser: 1337, runAsGroup: 1337, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'istio-podinfo', mountPath: POD_INFO_DIR },
                  { name: 'istio-token', mountPath: IDENTITY_DIR },
                ],
              },
            ],
            volumes: [
              { name: 'istio-podinfo', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
              tokenVolume,
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'istio-ingressgateway', namespace: v.namespace, labels: LABELS },
      spec: {
        type: g.serviceType,
        selector: { istio: 'ingressgateway' },
        ports: [
          { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
          { name: 'http2', port: g.httpPort, targetPort: 8080, protocol: 'TCP' },
          { name: 'https', port: g.httpsPort, targetPort: 8443, protocol: 'TCP' },
        ],
      },
    },
  ];
}

