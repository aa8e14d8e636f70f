/**
 * The proxies' side of the control-plane benchmark, run in its own process so their CPU is not counted
 * against the control plane: one AdsClient per node id (read as JSON lines from stdin), subscribing to
 * the endpoints of every EDS cluster and the route configs its listeners name, as a Sailfin proxy does,
 * and ACKing everything. Exits when stdin closes.
 */
// The Envoy extension messages Istio-style config carries (retry predicates, filters), as the proxy loads them.
import '../src/pilot/protos.js';
import { pino } from 'pino';
import { AdsClient } from '../src/xds/client.js';
import type { EnvoyJson } from '../src/xds/envoy-json.js';
import { TypeUrl } from '../src/xds/protos.js';

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

let buffered = '';
const target = process.argv[2];
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (line.trim()) connect(target, JSON.parse(line) as ClientNode);
  }
});
process.stdin.on('end', () => {
  for (const c of clients) c.close();
  process.exit(0);
});
