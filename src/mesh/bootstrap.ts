/**
 * The Envoy-style bootstrap each local-mesh proxy starts from: its identity (Istio's node id and
 * metadata), its admin port, and ADS at the control plane, as istio-agent writes one for Envoy.
 */
import { canonicalService } from '../inject/workload-name.js';
import { routerNodeId, sidecarNodeId } from '../pilot/proxy-info.js';

export interface ProxyBootstrapInput {
  mode: 'sidecar' | 'router';
  podName: string;
  namespace: string;
  ip: string;
  labels: Record<string, string>;
  serviceAccount: string;
  controlPlane: { address: string; port: number };
  /** The Deployment/StatefulSet the pod belongs to (Istio's WORKLOAD_NAME, the `*_workload` metric label). */
  workloadName?: string;
  adminPort?: number;
  domain?: string;
}

export const XDS_CLUSTER = 'xds-grpc';

/**
 * The pod's labels plus the canonical service labels Istio's injector adds (the injector's own rule):
 * peers read them from the metadata exchange for the *_canonical_* metric labels.
 */
function istioLabels(p: ProxyBootstrapInput): Record<string, string> {
  const canonical = canonicalService({ metadata: { labels: p.labels } }, p.workloadName ?? p.podName);
  return { ...p.labels, 'service.istio.io/canonical-name': canonical.name, 'service.istio.io/canonical-revision': canonical.revision };
}

/** Istio's OWNER: the controller of the pod, as a Kubernetes API path. */
function ownerOf(p: ProxyBootstrapInput): string {
  const kind = p.labels['pod-template-hash'] ? 'deployments' : p.labels['statefulset.kubernetes.io/pod-name'] ? 'statefulsets' : 'pods';
  const name = kind === 'pods' ? p.podName : (p.workloadName ?? p.podName);
  return `kubernetes://apis/${kind === 'pods' ? 'v1' : 'apps/v1'}/namespaces/${p.namespace}/${kind}/${name}`;
}

export function proxyBootstrap(p: ProxyBootstrapInput): Record<string, unknown> {
  const domain = p.domain ?? 'cluster.local';
  const id = p.mode === 'sidecar' ? sidecarNodeId(p.ip, p.podName, p.namespace, domain) : routerNodeId(p.ip, p.podName, p.namespace, domain);
  return {
    node: {
      id,
      cluster: `${p.labels.app ?? p.podName}.${p.namespace}`,
      metadata: {
        NAMESPACE: p.namespace,
        NAME: p.podName,
        LABELS: istioLabels(p),
        OWNER: ownerOf(p),
        INSTANCE_IPS: p.ip,
        SERVICE_ACCOUNT: p.serviceAccount,
        WORKLOAD_NAME: p.workloadName ?? p.podName,
        CLUSTER_ID: 'Kubernetes',
        MESH_ID: domain,
        ISTIO_VERSION: 'sailfin',
      },
    },
    admin: { address: { socket_address: { address: '0.0.0.0', port_value: p.adminPort ?? 15000 } } },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER } }] },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      lds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [
        {
          name: XDS_CLUSTER,
          type: 'STATIC',
          connect_timeout: '1s',
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
          load_assignment: {
            cluster_name: XDS_CLUSTER,
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: p.controlPlane.address, port_value: p.controlPlane.port } } } }] }],
          },
        },
      ],
    },
  };
}
