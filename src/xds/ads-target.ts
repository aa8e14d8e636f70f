/**
 * Where an Envoy-style bootstrap says the ADS server is. Envoy names it indirectly
 * (`ads_config.grpc_services[0].envoy_grpc.cluster_name` → a static cluster's address) or directly
 * (`google_grpc.target_uri`); Istio's sidecar bootstrap uses the first form with the "xds-grpc" cluster.
 */
import { SailfinError } from '../common/errors.js';
import type { EnvoyJson, JsonObject, JsonValue } from './envoy-json.js';

export interface AdsTarget {
  /** host:port for grpc-js. */
  target: string;
  /** The bootstrap's node (id, cluster, metadata, locality), sent on every stream. */
  node: EnvoyJson;
}

function obj(value: JsonValue | undefined): JsonObject | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

function list(value: JsonValue | undefined): JsonValue[] {
  return Array.isArray(value) ? value : [];
}

function bad(field: string, message: string): SailfinError {
  return new SailfinError('schema', message, { field });
}

/** Resolve the ADS server from a bootstrap (already parsed from YAML/JSON); undefined when it has no ads_config. */
export function adsTargetFromBootstrap(bootstrap: JsonObject): AdsTarget | undefined {
  const ads = obj(obj(bootstrap.dynamic_resources)?.ads_config);
  if (!ads) return undefined;
  const base = 'dynamic_resources.ads_config';
  const apiType = ads.api_type ?? 'GRPC';
  if (apiType !== 'GRPC' && apiType !== 'AGGREGATED_GRPC') {
    throw bad(`${base}.api_type`, `is ${JSON.stringify(apiType)}; Sailfin's xDS client speaks GRPC (ADS) only`);
  }
  const service = obj(list(ads.grpc_services)[0]);
  if (!service) throw bad(`${base}.grpc_services`, 'needs one entry naming the ADS server');
  const node = obj(bootstrap.node) ?? {};
  const google = obj(service.google_grpc);
  if (google) {
    const uri = google.target_uri;
    if (typeof uri !== 'string' || !uri) throw bad(`${base}.grpc_services[0].google_grpc.target_uri`, 'is required');
    return { target: uri, node };
  }
  const clusterName = obj(service.envoy_grpc)?.cluster_name;
  if (typeof clusterName !== 'string' || !clusterName) {
    throw bad(`${base}.grpc_services[0]`, 'needs envoy_grpc.cluster_name or google_grpc.target_uri');
  }
  const clusters = list(obj(bootstrap.static_resources)?.clusters);
  const index = clusters.findIndex((c) => obj(c)?.name === clusterName);
  if (index < 0) {
    throw bad(`${base}.grpc_services[0].envoy_grpc.cluster_name`, `names "${clusterName}", which is not a static cluster`);
  }
  const cluster = obj(clusters[index])!;
  const path = `static_resources.clusters[${index}].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address`;
  const lbEndpoint = obj(list(obj(list(obj(cluster.load_assignment)?.endpoints)[0])?.lb_endpoints)[0]);
  const socket = obj(obj(obj(lbEndpoint?.endpoint)?.address)?.socket_address);
  if (!socket) throw bad(path, `cluster "${clusterName}" needs a socket_address for the ADS server`);
  const host = socket.address;
  const port = socket.port_value;
  if (typeof host !== 'string' || !host) throw bad(`${path}.socket_address.address`, 'is required');
  if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw bad(`${path}.socket_address.port_value`, 'must be a port number');
  }
  return { target: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`, node };
}
