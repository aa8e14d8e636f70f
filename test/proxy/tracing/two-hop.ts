/**
 * A client sidecar and a server sidecar (two real `sailfin proxy` processes) in front of a local app,
 * configured as Sailfin's control plane configures them (the pilot's peer-metadata and stats filters,
 * an optional Zipkin `tracing` block), plus a local Zipkin-compatible collector. Shared by the
 * metadata-exchange and tracing tests.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminBlock, runProxy, staticCluster, tcpListener, type RunningProxy } from '../integration/harness.js';
import { istioStats, peerMetadata } from '../../../src/pilot/listeners/hcm.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
export const WEB_CLUSTER = 'outbound|80||web.default.svc.cluster.local';

export interface App {
  server: Server;
  port: number;
  /** Request headers the app received, in order. */
  seen: IncomingHttpHeaders[];
}

export async function startApp(): Promise<App> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.headers));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

export interface ZipkinSpanJson {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind: string;
  timestamp: number;
  duration: number;
  localEndpoint: { serviceName: string };
  tags: Record<string, string>;
}

export interface Collector {
  server: Server;
  port: number;
  spans: ZipkinSpanJson[];
  posts: number;
}

/** Accepts POST /api/v2/spans (Zipkin v2 JSON) and keeps the spans. */
export async function startCollector(): Promise<Collector> {
  const c: Collector = { server: undefined as unknown as Server, port: 0, spans: [], posts: 0 };
  c.server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v2/spans') {
        c.posts++;
        c.spans.push(...(JSON.parse(body) as ZipkinSpanJson[]));
        res.statusCode = 202;
      } else res.statusCode = 404;
      res.end();
    });
  });
  await new Promise<void>((r) => c.server.listen(0, '127.0.0.1', r));
  c.port = (c.server.address() as AddressInfo).port;
  return c;
}

export function tracingBlock(samplingPercent: number, collectorCluster = 'zipkin'): object {
  return {
    random_sampling: { value: samplingPercent },
    custom_tags: [{ tag: 'istio.canonical_service', literal: { value: 'test' } }],
    provider: {
      name: 'envoy.tracers.zipkin',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
        collector_cluster: collectorCluster,
        collector_endpoint: '/api/v2/spans',
        collector_endpoint_version: 'HTTP_JSON',
        trace_id_128bit: true,
        shared_span_context: false,
      },
    },
  };
}

function hcm(statPrefix: string, cluster: string, direction: 'inbound' | 'outbound', tracing?: object): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM,
      stat_prefix: statPrefix,
      http_filters: [peerMetadata(direction), istioStats(), ROUTER],
      route_config: { name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }] },
      ...(tracing ? { tracing } : {}),
    },
  };
}

/** The server sidecar of pod web-v1-… (app web, version v1): inbound listener "in" → the app. */
export function serverProxy(appPort: number, collectorPort: number | undefined, tracing?: object): Promise<RunningProxy> {
  const clusters = [staticCluster('inbound|80||', [appPort])];
  if (collectorPort !== undefined) clusters.push(staticCluster('zipkin', [collectorPort]));
  return runProxy({
    node: {
      id: 'sidecar~127.0.0.2~web-v1-abc-12345.default~default.svc.cluster.local',
      cluster: 'web.default',
      metadata: { NAME: 'web-v1-abc-12345', NAMESPACE: 'default', WORKLOAD_NAME: 'web-v1', SERVICE_ACCOUNT: 'web', CLUSTER_ID: 'Kubernetes', INSTANCE_IPS: '127.0.0.2', LABELS: { app: 'web', version: 'v1' } },
    },
    admin: adminBlock(),
    static_resources: { clusters, listeners: [tcpListener('in', [{ filters: [hcm('inbound_0.0.0.0_80', 'inbound|80||', 'inbound', tracing)] }])] },
  });
}

/** The client sidecar of pod sleep-… (app sleep, version v1): outbound listener "out" → the server sidecar. */
export function clientProxy(serverPort: number, collectorPort: number | undefined, tracing?: object): Promise<RunningProxy> {
  const clusters = [staticCluster(WEB_CLUSTER, [serverPort])];
  if (collectorPort !== undefined) clusters.push(staticCluster('zipkin', [collectorPort]));
  return runProxy({
    node: {
      id: 'sidecar~127.0.0.3~sleep-7d-xyz12.default~default.svc.cluster.local',
      cluster: 'sleep.default',
      metadata: { NAME: 'sleep-7d-xyz12', NAMESPACE: 'default', WORKLOAD_NAME: 'sleep', SERVICE_ACCOUNT: 'sleep', CLUSTER_ID: 'Kubernetes', INSTANCE_IPS: '127.0.0.3', LABELS: { app: 'sleep', version: 'v1' } },
    },
    admin: adminBlock(),
    static_resources: { clusters, listeners: [tcpListener('out', [{ filters: [hcm('outbound_0.0.0.0_80', WEB_CLUSTER, 'outbound', tracing)] }])] },
  });
}

/** Polls until `check` returns a value (or the deadline passes, which fails the test). */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
