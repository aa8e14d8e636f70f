/**
 * The mesh-wide settings Istio reads from the `istio` ConfigMap (key `mesh`, itself a YAML document):
 * the fields Sailfin uses, their Istio defaults, and a parser that reports bad values by line.
 */
import { parse as parseYamlText } from 'yaml';
import { MessageTypes, type AnalysisMessage } from './messages.js';
import type { LoadedResource } from './resource.js';
import { isPlainObject } from './documents.js';

export type OutboundTrafficPolicyMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';

export interface MeshConfig {
  /** Where mesh-wide config (PeerAuthentication, Sidecar defaults) lives. */
  readonly rootNamespace: string;
  /** The SPIFFE trust domain in workload identities: spiffe://<trustDomain>/ns/<ns>/sa/<sa>. */
  readonly trustDomain: string;
  readonly outboundTrafficPolicy: { readonly mode: OutboundTrafficPolicyMode };
  /** Use ISTIO_MUTUAL towards endpoints with a sidecar when no DestinationRule sets TLS. */
  readonly enableAutoMtls: boolean;
  /** Default upstream connect timeout (a duration string, e.g. "10s"). */
  readonly connectTimeout: string;
  /** Proxy settings (Istio's ProxyConfig), kept as written; consumers read the fields they know. */
  readonly defaultConfig: Readonly<Record<string, unknown>>;
  /** Where the proxies write access logs ('' = off, "/dev/stdout" = to the proxy's output). */
  readonly accessLogFile: string;
  /** How often DNS-resolved ServiceEntry clusters re-resolve (a duration, Istio's default "60s"). */
  readonly dnsRefreshRate?: string;
}

export const MESH_CONFIGMAP_NAME = 'istio';
export const MESH_CONFIGMAP_KEY = 'mesh';
export const DEFAULT_ROOT_NAMESPACE = 'istio-system';

export const DEFAULT_MESH_CONFIG: MeshConfig = Object.freeze({
  rootNamespace: DEFAULT_ROOT_NAMESPACE,
  trustDomain: 'cluster.local',
  outboundTrafficPolicy: Object.freeze({ mode: 'ALLOW_ANY' as const }),
  enableAutoMtls: true,
  connectTimeout: '10s',
  defaultConfig: Object.freeze({
    discoveryAddress: 'istiod.istio-system.svc:15012',
    proxyAdminPort: 15000,
    statusPort: 15020,
    drainDuration: '45s',
    terminationDrainDuration: '5s',
  }),
  accessLogFile: '',
  dnsRefreshRate: '60s',
});

const KNOWN_FIELDS = new Set(['rootNamespace', 'trustDomain', 'outboundTrafficPolicy', 'enableAutoMtls', 'connectTimeout', 'defaultConfig', 'accessLogFile', 'dnsRefreshRate']);
const DURATION = /^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/;

export interface MeshConfigResult {
  config: MeshConfig;
  messages: AnalysisMessage[];
}

/**
 * Parses the text of `data.mesh`. `origin` places messages: the ConfigMap, and the line where the
 * `mesh` value starts (lines inside the block are added to it).
 */
export function parseMeshConfig(text: string, origin?: LoadedResource): MeshConfigResult {
  const messages: AnalysisMessage[] = [];
  const problem = (message: string, _field: string, level: 'Error' | 'Info' = 'Error'): void => {
    messages.push({
      type: level === 'Error' ? MessageTypes.SchemaValidationError : MessageTypes.SchemaWarning,
      message: `${level === 'Error' ? 'Schema validation error' : 'Schema validation warning'}: mesh config: ${message}`,
      ...(origin
        ? {
            resource: { kind: 'ConfigMap', namespace: origin.resource.metadata.namespace, name: origin.resource.metadata.name },
            location: { file: origin.source.file, line: origin.source.fieldLines?.get(`data.${MESH_CONFIGMAP_KEY}`) ?? origin.source.line },
          }
        : {}),
      field: `data.${MESH_CONFIGMAP_KEY}`,
    });
  };
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : parseYamlText(text);
  } catch (err) {
    problem(`not valid YAML: ${(err as Error).message.split('\n')[0]}`, '(document)');
    return { config: DEFAULT_MESH_CONFIG, messages };
  }
  if (raw === null || raw === undefined) raw = {};
  if (!isPlainObject(raw)) {
    problem('must be a mapping of mesh settings', '(document)');
    return { config: DEFAULT_MESH_CONFIG, messages };
  }
  const str = (field: string, fallback: string): string => {
    const value = raw[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || value === '') {
      problem(`${field} must be a non-empty string`, field);
      return fallback;
    }
    return value;
  };
  let mode: OutboundTrafficPolicyMode = DEFAULT_MESH_CONFIG.outboundTrafficPolicy.mode;
  const otp = raw.outboundTrafficPolicy;
  if (otp !== undefined && otp !== null) {
    const m = isPlainObject(otp) ? otp.mode : undefined;
    if (m === 'ALLOW_ANY' || m === 'REGISTRY_ONLY') mode = m;
    else if (m !== undefined) problem(`outboundTrafficPolicy.mode must be ALLOW_ANY or REGISTRY_ONLY, not ${JSON.stringify(m)}`, 'outboundTrafficPolicy.mode');
    else if (!isPlainObject(otp)) problem('outboundTrafficPolicy must be a mapping', 'outboundTrafficPolicy');
  }
  let enableAutoMtls = DEFAULT_MESH_CONFIG.enableAutoMtls;
  if (raw.enableAutoMtls !== undefined && raw.enableAutoMtls !== null) {
    if (typeof raw.enableAutoMtls === 'boolean') enableAutoMtls = raw.enableAutoMtls;
    else problem('enableAutoMtls must be true or false', 'enableAutoMtls');
  }
  const connectTimeout = str('connectTimeout', DEFAULT_MESH_CONFIG.connectTimeout);
  if (!DURATION.test(connectTimeout)) problem(`connectTimeout ${JSON.stringify(connectTimeout)} is not a duration like "10s"`, 'connectTimeout');
  const dnsRefreshRate = str('dnsRefreshRate', DEFAULT_MESH_CONFIG.dnsRefreshRate!);
  if (!DURATION.test(dnsRefreshRate)) problem(`dnsRefreshRate ${JSON.stringify(dnsRefreshRate)} is not a duration like "60s"`, 'dnsRefreshRate');
  let defaultConfig = DEFAULT_MESH_CONFIG.defaultConfig;
  if (raw.defaultConfig !== undefined && raw.defaultConfig !== null) {
    if (isPlainObject(raw.defaultConfig)) defaultConfig = { ...DEFAULT_MESH_CONFIG.defaultConfig, ...raw.defaultConfig };
    else problem('defaultConfig must be a mapping', 'defaultConfig');
  }
  for (const field of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(field)) problem(`field ${field} is not used by Sailfin and is ignored`, field, 'Info');
  }
  return {
    config: {
      rootNamespace: str('rootNamespace', DEFAULT_MESH_CONFIG.rootNamespace),
      trustDomain: str('trustDomain', DEFAULT_MESH_CONFIG.trustDomain),
      outboundTrafficPolicy: { mode },
      enableAutoMtls,
      connectTimeout: DURATION.test(connectTimeout) ? connectTimeout : DEFAULT_MESH_CONFIG.connectTimeout,
      defaultConfig,
      accessLogFile: str('accessLogFile', DEFAULT_MESH_CONFIG.accessLogFile),
      dnsRefreshRate: DURATION.test(dnsRefreshRate) ? dnsRefreshRate : DEFAULT_MESH_CONFIG.dnsRefreshRate,
    },
    messages,
  };
}

/**
 * Finds the mesh ConfigMap among loaded resources: `istio` in istio-system, else an `istio`
 * ConfigMap with a `mesh` key in any namespace (a mesh whose root namespace was renamed).
 */
export function findMeshConfigMap(resources: Iterable<LoadedResource>): LoadedResource | undefined {
  let fallback: LoadedResource | undefined;
  for (const loaded of resources) {
    const r = loaded.resource;
    if (r.kind !== 'ConfigMap' || r.metadata.name !== MESH_CONFIGMAP_NAME) continue;
    const data = r.data;
    if (!isPlainObject(data) || typeof data[MESH_CONFIGMAP_KEY] !== 'string') continue;
    if (r.metadata.namespace === DEFAULT_ROOT_NAMESPACE) return loaded;
    fallback ??= loaded;
  }
  return fallback;
}

/** The mesh config in force for a set of resources (defaults when there is no mesh ConfigMap). */
export function meshConfigFrom(resources: Iterable<LoadedResource>): MeshConfigResult {
  const cm = findMeshConfigMap(resources);
  if (!cm) return { config: DEFAULT_MESH_CONFIG, messages: [] };
  return parseMeshConfig((cm.resource.data as Record<string, string>)[MESH_CONFIGMAP_KEY], cm);
}
