/**
 * The proxies' side of the control-plane benchmark, run in its own process so their CPU is not counted
 * against the control plane: one ADS stream per node id (read as JSON lines from stdin), subscribing to
 * the endpoints of every EDS cluster and the route configs its listeners name, as a Sailfin proxy does,
 * and ACKing everything. Exits when stdin closes.
 *
 * Two kinds of client (argv[3]): `full` is the Sailfin proxy's AdsClient, which turns every resource into
 * Envoy JSON before ACKing; `light` (Istio's pilot-load approach) reads clusters and listeners to know
 * what to subscribe to but ACKs route tables and endpoints unread. With 200 proxies on the same two cores
 * as the control plane, `full` mostly measures 200 decodes of a 1,000-host route table, not the server.
 */
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { adsCodecs, type DiscoveryRequest, type DiscoveryResponse } from '../src/xds/ads-service.js';
import { AdsClient } from '../src/xds/client.js';
import { encodeEnvoyJson, toEnvoyJson, type EnvoyJson } from '../src/xds/envoy-json.js';
import { ADS_STREAM_METHOD, TypeUrl, lookupMessageType } from '../src/xds/protos.js';

interface ClientNode {
  id: string;
  metadata: Record<string, unknown>;
}

/** Every `rds.route_config_name` anywhere in a listener (HCMs sit deep in filter chains). */
function routeNames(value: unknown, out: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) routeNames(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'route_config_name' && typeof v === 'string') out.add(v);
      else if (typeof v === 'object') routeNames(v, out);
    }
  }
}

const logger = pino({ level: process.env.CP_BENCH_CLIENT_LOG ?? 'silent' });
const clients: AdsClient[] = [];

function connect(target: string, node: ClientNode): void {
  const client: AdsClient = new AdsClient({
    target,
    node: node as unknown as EnvoyJson,
    logger,
    events: {
      onResources(typeUrl, resources: ReadonlyMap<string, EnvoyJson>) {
        if (typeUrl === TypeUrl.Cluster) {
          const eds = [...resources.values()].filter((c) => c.type === 'EDS').map((c) => c.name as string);
          client.watch(TypeUrl.ClusterLoadAssignment, eds);
        } else if (typeUrl === TypeUrl.Listener) {
          const names = new Set<string>();
          for (const l of resources.values()) routeNames(l, names);
          client.watch(TypeUrl.RouteConfiguration, [...names]);
        }
      },
    },
  });
  clients.push(client);
  client.start();
}

/** A proxy that ACKs every response after reading only what it needs to subscribe (see the header). */
function connectLight(target: string, node: ClientNode, channel: grpc.Client): void {
  const { request, response } = adsCodecs();
  const call = channel.makeBidiStreamRequest<DiscoveryRequest, DiscoveryResponse>(ADS_STREAM_METHOD, request.serialize, response.deserialize);
  const names = new Map<string, string[]>([
    [TypeUrl.Cluster, []],
    [TypeUrl.Listener, []],
  ]);
  let first = true;
  const send = (type: string, version = '', nonce = '') => {
    const req: DiscoveryRequest = { type_url: type, resource_names: names.get(type) ?? [], version_info: version, response_nonce: nonce };
    if (first) {
      req.node = lookupMessageType('envoy.config.core.v3.Node').decode(encodeEnvoyJson('envoy.config.core.v3.Node', { ...(node as unknown as EnvoyJson), user_agent_name: 'sailfin-bench' }));
      first = false;
    }
    call.write(req);
  };
  const subscribe = (type: string, wanted: string[]) => {
    const sorted = [...new Set(wanted)].sort();
    const had = names.get(type);
    if (had && had.length === sorted.length && had.every((n, i) => n === sorted[i])) return;
    names.set(type, sorted);
    send(type);
  };
  call.on('data', (res: DiscoveryResponse) => {
    if (res.type_url === TypeUrl.Cluster) {
      const eds = res.resources.map((a) => toEnvoyJson(TypeUrl.Cluster, a)).filter((c) => c.type === 'EDS').map((c) => c.name as string);
      send(res.type_url, res.version_info, res.nonce);
      subscribe(TypeUrl.ClusterLoadAssignment, eds);
    } else if (res.type_url === TypeUrl.Listener) {
      const routes = new Set<string>();
      for (const a of res.resources) routeNames(toEnvoyJson(TypeUrl.Listener, a), routes);
      send(res.type_url, res.version_info, res.nonce);
      subscribe(TypeUrl.RouteConfiguration, [...routes]);
    } else send(res.type_url, res.version_info, res.nonce);
  });
  call.on('error', (err) => logger.warn({ err: err.message }, 'bench client: stream failed'));
  send(TypeUrl.Cluster);
  send(TypeUrl.Listener);
  void target;
}

/**
 * One connection per proxy, as real proxies have: grpc-js otherwise pools every channel to the same
 * target into one HTTP/2 connection, and 100 streams then share one flow-control window.
 */
const channels: grpc.Client[] = [];
function channelFor(target: string): grpc.Client {
  const channel = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, 'grpc.use_local_subchannel_pool': 1 });
  channels.push(channel);
  return channel;
}

let buffered = '';
const light = process.argv[3] === 'light';
const target = process.argv[2];
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (!line.trim()) continue;
    const node = JSON.parse(line) as ClientNode;
    if (light) connectLight(target, node, channelFor(target));
    else connect(target, node);
  }
});
process.stdin.on('end', () => {
  for (const c of clients) c.close();
  for (const c of channels) c.close();
  process.exit(0);
});
