/**
 * Istio-like sidecars for the latency and cost benchmark: the bootstraps are what Sailfin's control
 * plane generates for two pods of a real mesh, not hand-written Envoy config. Istio's published
 * figures are for sidecars with their default telemetry, so these carry everything a real sidecar's
 * request path does: the istio.peer_metadata and istio.stats filters (peer metadata exchange, the
 * standard request metrics), the inbound listener with its TLS inspector and PERMISSIVE chains,
 * ISTIO_MUTUAL to the server (auto mTLS, SPIFFE SAN verified against the service's identities).
 *
 * The pods are in explicit mode (INTERCEPTION_MODE=NONE, as `sailfin up --mode explicit` runs them),
 * so no iptables capture is needed: the client pod's sidecar is an HTTP proxy on its pod address and
 * the server pod's sidecar listens on the pod address at the service's target port. Pod addresses are
 * random 127.x.y.z ones, so two runs on one host do not collide on the fixed ports (15001).
 *
 * The generated resources are inlined (RDS → route_config, EDS → load_assignment) and the SDS secrets
 * (`default`, `ROOTCA`) given as static secrets: the same objects a sidecar would get over ADS, without
 * a control plane running during the measurement.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlane } from '../src/discovery/control-plane.js';
import { proxyBootstrap } from '../src/mesh/bootstrap.js';
import { explicitBootstrap } from '../src/mesh/explicit-bootstrap.js';
import { PilotGenerator } from '../src/pilot/generator.js';
import { EXPLICIT_PROXY_PORT } from '../src/pilot/listeners/explicit.js';
import { stderrLogger } from '../src/proxy/bootstrap/stderr-logger.js';
import type { ConnectedProxy } from '../src/xds/generator.js';
import { TypeUrl } from '../src/xds/protos.js';
import type { Pki } from './sailfin-configs.js';

type Json = Record<string, unknown>;

const NS = 'bench';
const SERVICE_PORT = 80;
const TARGET_PORT = 8080;

export interface MeshSidecars {
  client: Json;
  server: Json;
  /** Where the app sends its requests (the client sidecar's forward proxy) and the Host it names. */
  proxyPort: number;
  proxyHost: string;
  host: string;
  /** The server sidecar's inbound port on its pod address (to wait for). */
  serverHost: string;
  serverPort: number;
}

function manifests(clientIp: string, serverIp: string): string {
  const pod = (name: string, ip: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}-0, namespace: ${NS}, labels: {app: ${name}, version: v1}}
spec:
  serviceAccountName: ${name}
  containers: [{name: app, image: echo, ports: [{containerPort: ${TARGET_PORT}}]}]
status: {podIP: ${ip}}
`;
  const svc = (name: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${NS}}
spec:
  selector: {app: ${name}}
  ports: [{name: http, port: ${SERVICE_PORT}, targetPort: ${TARGET_PORT}}]
`;
  return [svc('server'), svc('client'), pod('server', serverIp), pod('client', clientIp)].join('---\n');
}

function connected(bootstrap: Json): ConnectedProxy {
  const node = bootstrap.node as { id: string; metadata: Json };
  return { id: node.id, connectionId: '1', node: node as never, metadata: node.metadata as never, connectedAt: new Date(), subscribedNames: () => [], scratch: new Map() };
}

/** Replaces each `rds` of an HTTP connection manager by the route table it names, generated for this proxy. */
function inlineRoutes(value: unknown, route: (name: string) => Json | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => inlineRoutes(v, route));
  if (!value || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    if (k === 'rds') {
      const name = (v as Json).route_config_name as string;
      const rc = route(name);
      if (!rc) throw new Error(`generator gave no route table ${name}`);
      out.route_config = rc;
    } else out[k] = inlineRoutes(v, route);
  }
  return out;
}

function sidecarBootstrap(gen: PilotGenerator, base: Json, adminPort: number, secrets: Json[]): Json {
  const proxy = connected(base);
  const one = (type: (typeof TypeUrl)[keyof typeof TypeUrl], names: string[] = []) => gen.generate(proxy, type, names).map((r) => r.resource as Json);
  const listeners = one(TypeUrl.Listener).map((l) => inlineRoutes(l, (name) => one(TypeUrl.RouteConfiguration, [name])[0]) as Json);
  const clusters = one(TypeUrl.Cluster).map((c) => {
    if (c.type !== 'EDS') return c;
    const { eds_cluster_config: _eds, ...rest } = c;
    return { ...rest, type: 'STATIC', load_assignment: one(TypeUrl.ClusterLoadAssignment, [c.name as string])[0] };
  });
  return {
    node: base.node,
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    static_resources: { listeners, clusters, secrets },
  };
}

const rand = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo));

/** Bootstraps for a client pod's and a server pod's sidecars, generated by Sailfin's Pilot. */
export async function meshSidecarBootstraps(dir: string, backendPort: number, adminPorts: [number, number], pki: Pki): Promise<MeshSidecars> {
  const prefix = `127.${rand(64, 250)}.${rand(1, 250)}`;
  const clientIp = `${prefix}.2`;
  const serverIp = `${prefix}.3`;
  const meshDir = join(dir, 'mesh-sidecars');
  mkdirSync(meshDir, { recursive: true });
  writeFileSync(join(meshDir, 'mesh.yaml'), manifests(clientIp, serverIp));
  const cp = new ControlPlane({ paths: [meshDir], watch: false, logger: stderrLogger({ name: 'bench-pilot', level: 'error' }) });
  const loaded = await cp.reload();
  if (!loaded.accepted) throw new Error(`bench mesh refused: ${loaded.messages.map((m) => m.message).join('; ')}`);
  const gen = new PilotGenerator(() => cp.snapshot());
  const node = (name: string, ip: string): Json =>
    explicitBootstrap(
      proxyBootstrap({ mode: 'sidecar', podName: `${name}-0`, namespace: NS, ip, labels: { app: name, version: 'v1' }, serviceAccount: name, controlPlane: { address: '127.0.0.1', port: 15010 } }),
      ip,
      name === 'server' ? { [TARGET_PORT]: backendPort } : {},
    );
  // What istio-agent's SDS would serve: the workload's own certificate and the mesh root.
  const secrets = (cert: string, key: string): Json[] => [
    { name: 'default', tls_certificate: { certificate_chain: { inline_string: cert }, private_key: { inline_string: key } } },
    { name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: pki.ca } } },
  ];
  const client = sidecarBootstrap(gen, node('client', clientIp), adminPorts[0], secrets(pki.clientCert, pki.clientKey));
  const server = sidecarBootstrap(gen, node('server', serverIp), adminPorts[1], secrets(pki.serverCert, pki.serverKey));
  return { client, server, proxyPort: EXPLICIT_PROXY_PORT, proxyHost: clientIp, host: `server.${NS}.svc.cluster.local`, serverHost: serverIp, serverPort: TARGET_PORT };
}
