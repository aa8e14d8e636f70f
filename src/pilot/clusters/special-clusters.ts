/** The clusters every sidecar has besides its services': passthrough, black hole, and the inbound ones. */
import type { JsonObject } from '../../proxy/config/fields.js';
import { BLACKHOLE_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER, PASSTHROUGH_CLUSTER, clusterName } from '../names.js';
import { HTTP_PROTOCOL_OPTIONS } from './traffic-policy.js';

const MAX = 4294967295;
const unlimited = (): JsonObject => ({ thresholds: [{ max_connections: MAX, max_pending_requests: MAX, max_requests: MAX, max_retries: MAX }] });

/** Traffic to destinations the mesh does not know goes where it was going (ALLOW_ANY). */
export function passthroughCluster(name = PASSTHROUGH_CLUSTER): JsonObject {
  return {
    name,
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: '10s',
    circuit_breakers: unlimited(),
    typed_extension_protocol_options: {
      [HTTP_PROTOCOL_OPTIONS]: { '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`, use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } },
    },
  };
}

/** A cluster with no endpoints: where REGISTRY_ONLY sends unknown TCP traffic. */
export function blackHoleCluster(): JsonObject {
  return { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: '10s', load_assignment: { cluster_name: BLACKHOLE_CLUSTER, endpoints: [] } };
}

/**
 * Traffic to ports no Service declares goes to the app as it was addressed. Connecting from 127.0.0.6,
 * which the capture rules never redirect, is what keeps the proxy from capturing its own connection.
 */
export function inboundPassthroughCluster(): JsonObject {
  return { ...passthroughCluster(INBOUND_PASSTHROUGH_CLUSTER), upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } } };
}

/**
 * `inbound|<port>||`: the app itself, on localhost. Traffic from the proxy's own UID is never
 * captured, so this does not loop back into the proxy.
 */
export function inboundCluster(port: number, appPort: number, http2: boolean): JsonObject {
  const name = clusterName('inbound', port, '', '');
  const options: JsonObject = {
    '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
    common_http_protocol_options: { idle_timeout: '3600s' },
    explicit_http_config: http2 ? { http2_protocol_options: {} } : { http_protocol_options: {} },
  };
  return {
    name,
    type: 'STATIC',
    connect_timeout: '10s',
    circuit_breakers: unlimited(),
    typed_extension_protocol_options: { [HTTP_PROTOCOL_OPTIONS]: options },
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: appPort } } } }] }],
    },
  };
}
