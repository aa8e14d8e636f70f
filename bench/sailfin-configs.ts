/**
 * Envoy-v3 bootstraps for the Sailfin proxy under test. They are plain Envoy config, so the same
 * files would run under Envoy itself.
 */
type Json = Record<string, unknown>;

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

export interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const addr = (port: number): Json => ({ socket_address: { address: '127.0.0.1', port_value: port } });

function staticCluster(name: string, ports: number[], extra: Json = {}): Json {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: addr(p) } })) }] },
    ...extra,
  };
}

function hcm(routeConfig: Json): Json {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: { '@type': HCM, stat_prefix: 'bench', route_config: routeConfig, http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } }] },
  };
}

function bootstrap(adminPort: number, listeners: Json[], clusters: Json[]): Json {
  return { node: { id: 'bench', cluster: 'bench' }, admin: { address: addr(adminPort) }, static_resources: { listeners, clusters } };
}

const allToCluster = (cluster: string): Json => ({
  name: 'local',
  virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }],
});

/** One HTTP listener routing everything to the backend. */
export function httpProxyBootstrap(port: number, adminPort: number, backendPort: number): Json {
  return bootstrap(adminPort, [{ name: 'http', address: addr(port), filter_chains: [{ filters: [hcm(allToCluster('backend'))] }] }], [staticCluster('backend', [backendPort])]);
}

export function tcpProxyBootstrap(port: number, adminPort: number, backendPort: number): Json {
  return bootstrap(
    adminPort,
    [{ name: 'tcp', address: addr(port), filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: 'bench', cluster: 'backend' } }] }] }],
    [staticCluster('backend', [backendPort])],
  );
}

/** The client-side sidecar: plaintext in from the app, mTLS out to the server sidecar (when pki is given). */
export function clientSidecarBootstrap(port: number, adminPort: number, serverSidecarPort: number, pki?: Pki): Json {
  const tls: Json | undefined = pki && {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': UPSTREAM_TLS,
        sni: 'backend.bench.svc.cluster.local',
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { inline_string: pki.clientCert }, private_key: { inline_string: pki.clientKey } }],
          validation_context: {
            trusted_ca: { inline_string: pki.ca },
            match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/bench/sa/server' } }],
          },
        },
      },
    },
  };
  return bootstrap(adminPort, [{ name: 'outbound', address: addr(port), filter_chains: [{ filters: [hcm(allToCluster('server-sidecar'))] }] }], [staticCluster('server-sidecar', [serverSidecarPort], tls ?? {})]);
}

/** The server-side sidecar: terminates mTLS (client certificate required) and forwards to the app. */
export function serverSidecarBootstrap(port: number, adminPort: number, backendPort: number, pki?: Pki): Json {
  const chain: Json = { filters: [hcm(allToCluster('inbound|80||'))] };
  if (pki) {
    chain.transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': DOWNSTREAM_TLS,
        require_client_certificate: true,
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { inline_string: pki.serverCert }, private_key: { inline_string: pki.serverKey } }],
          validation_context: { trusted_ca: { inline_string: pki.ca } },
        },
      },
    };
  }
  return bootstrap(adminPort, [{ name: 'inbound', address: addr(port), filter_chains: [chain] }], [staticCluster('inbound|80||', [backendPort])]);
}

/** A sidecar's view of a 1,000-service mesh: a cluster and a virtual host per service, five endpoints each. */
export function largeMeshBootstrap(port: number, adminPort: number, services: number): Json {
  const clusters: Json[] = [];
  const vhosts: Json[] = [];
  for (let i = 0; i < services; i++) {
    const host = `svc-${i}.ns-${i % 20}.svc.cluster.local`;
    const name = `outbound|8080||${host}`;
    clusters.push(staticCluster(name, [1, 2, 3, 4, 5].map((k) => 20000 + ((i * 5 + k) % 40000)), { lb_policy: 'LEAST_REQUEST' }));
    vhosts.push({
      name: `${host}:8080`,
      domains: [`svc-${i}`, `svc-${i}.ns-${i % 20}`, `svc-${i}.ns-${i % 20}.svc`, host, `${host}:8080`],
      routes: [{ match: { prefix: '/' }, route: { cluster: name, timeout: '0s' } }],
    });
  }
  return bootstrap(adminPort, [{ name: 'outbound', address: addr(port), filter_chains: [{ filters: [hcm({ name: '8080', virtual_hosts: vhosts })] }] }], clusters);
}
