/**
 * Envoy's v3 protobuf schema, loaded once (lazily) from the .proto files that @grpc/grpc-js-xds ships
 * under deps/. Everything in src/xds reads message types from here, so the wire format and the JSON
 * form always agree on one schema.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { SailfinError } from '../common/errors.js';

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** The resource types ADS serves, by their xDS type URL. */
export const TypeUrl = {
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  Secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;
export type XdsTypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

/** Short names used in logs and debug output (Istio's vocabulary). */
export const TYPE_SHORT_NAME: Record<string, string> = {
  [TypeUrl.Listener]: 'LDS',
  [TypeUrl.RouteConfiguration]: 'RDS',
  [TypeUrl.Cluster]: 'CDS',
  [TypeUrl.ClusterLoadAssignment]: 'EDS',
  [TypeUrl.Secret]: 'SDS',
};

export function shortTypeName(typeUrl: string): string {
  return TYPE_SHORT_NAME[typeUrl] ?? typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/**
 * Every .proto the mesh uses. Their imports (core, matchers, route, …) come along transitively.
 * Add a file here when a generator starts emitting a new typed_config.
 */
const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/config/trace/v3/zipkin.proto',
  // Also emitted by the generators (src/pilot/protos.ts): listed here because a `sailfin proxy` process
  // decodes them from ADS without ever loading the pilot.
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'udpa/type/v1/typed_struct.proto',
  'xds/type/v3/typed_struct.proto',
  'google/protobuf/any.proto',
  'google/protobuf/duration.proto',
  'google/protobuf/struct.proto',
  'google/protobuf/wrappers.proto',
  'google/protobuf/empty.proto',
  'google/protobuf/timestamp.proto',
  'google/protobuf/field_mask.proto',
];

let cachedRoot: protobuf.Root | undefined;

/** Directories searched for imports, in order: Envoy, xDS (udpa), googleapis, validate, then protobufjs' own google/protobuf. */
export function protoIncludeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const xdsDeps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const protobufjsDir = dirname(require.resolve('protobufjs/package.json'));
  return [
    join(xdsDeps, 'envoy-api'),
    join(xdsDeps, 'xds'),
    join(xdsDeps, 'googleapis'),
    join(xdsDeps, 'protoc-gen-validate'),
    protobufjsDir,
  ];
}

function loadInto(root: protobuf.Root, files: string[]): void {
  const dirs = protoIncludeDirs();
  root.resolvePath = (_origin: string, target: string): string => {
    for (const dir of dirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  try {
    root.loadSync(files, { keepCase: true });
    root.resolveAll();
  } catch (err) {
    throw new SailfinError('runtime', `cannot load Envoy protos: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The schema of PROTO_FILES as protobufjs JSON (`Root.toJSON`), generated from the .proto files and
 * checked against them by test/xds/client-descriptor.test.ts. Why: parsing the .proto files at start-up
 * kept their text alive (identifiers and comments are slices of it: 1.2 MB of source strings) and left
 * the parser loaded; a sidecar built from this file holds about 2 MB less heap and starts faster. It is
 * read from the source tree next to this module's compiled form; when it is missing, or was made from
 * other files than those asked for, the .proto files are parsed as before.
 */
export const ENVOY_DESCRIPTOR_PATH = fileURLToPath(new URL('../../../src/xds/envoy-descriptor.json', import.meta.url));

interface EnvoyDescriptor {
  files: string[];
  root: protobuf.INamespace;
}

/** Whether the cached root was built from the descriptor rather than parsed. */
let builtFromDescriptor = false;

/** The root from the descriptor file, or undefined when it is missing, unreadable or lacks one of `files`. */
function fromDescriptor(files: readonly string[]): protobuf.Root | undefined {
  try {
    const d = JSON.parse(readFileSync(ENVOY_DESCRIPTOR_PATH, 'utf8')) as Partial<EnvoyDescriptor> | null;
    if (!Array.isArray(d?.files) || !d.root) return undefined;
    const have = new Set(d.files);
    if (!files.every((f) => have.has(f))) return undefined;
    const root = protobuf.Root.fromJSON(d.root);
    root.resolveAll();
    builtFromDescriptor = true;
    return root;
  } catch {
    // Whatever is wrong with the file, the .proto files are still there to parse.
    return undefined;
  }
}

/** Whether the cached root came from the descriptor file (for tests). */
export function protoRootFromDescriptor(): boolean {
  return builtFromDescriptor;
}

/** The descriptor of PROTO_FILES, parsed from the .proto files (what ENVOY_DESCRIPTOR_PATH must hold). */
export function envoyDescriptorFromProtos(): EnvoyDescriptor {
  const root = new protobuf.Root();
  loadInto(root, PROTO_FILES);
  return { files: [...PROTO_FILES], root: root.toJSON({ keepComments: false }) as protobuf.INamespace };
}

/** Regenerates the descriptor file after PROTO_FILES or the vendored protos change. */
export function writeEnvoyDescriptor(): void {
  writeFileSync(ENVOY_DESCRIPTOR_PATH, `${JSON.stringify(envoyDescriptorFromProtos(), null, 1)}\n`);
}

/** The protobuf root with every Envoy type Sailfin uses; loaded on first call and cached. */
export function envoyProtoRoot(): protobuf.Root {
  if (!cachedRoot) {
    let root = fromDescriptor(PROTO_FILES);
    if (!root) {
      root = new protobuf.Root();
      loadInto(root, PROTO_FILES);
    }
    cachedRoot = root;
  }
  return cachedRoot;
}

/** "type.googleapis.com/a.b.C" (or "a.b.C") → the message type, or a clear error. */
const typeCache = new Map<string, protobuf.Type>();

export function lookupMessageType(typeUrlOrName: string): protobuf.Type {
  // Every conversion starts here; protobufjs' lookup walks namespaces, so remember the answers.
  const cached = typeCache.get(typeUrlOrName);
  if (cached) return cached;
  const name = typeUrlOrName.includes('/') ? typeUrlOrName.slice(typeUrlOrName.lastIndexOf('/') + 1) : typeUrlOrName;
  const found = envoyProtoRoot().lookup(name);
  if (!(found instanceof protobuf.Type)) {
    throw new SailfinError('unsupported', `unknown message type "${typeUrlOrName}" (not among the Envoy protos Sailfin loads)`);
  }
  typeCache.set(typeUrlOrName, found);
  return found;
}

export function typeUrlOf(type: protobuf.Type): string {
  return TYPE_URL_PREFIX + type.fullName.replace(/^\./, '');
}

/** The gRPC method paths of the aggregated discovery service. */
export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const ADS_STREAM_METHOD = `/${ADS_SERVICE}/StreamAggregatedResources`;
export const ADS_DELTA_METHOD = `/${ADS_SERVICE}/DeltaAggregatedResources`;
