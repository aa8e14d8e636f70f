/**
 * The top of an Envoy v3 bootstrap: which parts Sailfin supports, checked before anything starts so a
 * typo stops the proxy with the field's name instead of being silently ignored. Listeners, clusters and
 * secrets are compiled by their own modules; this file only splits the bootstrap into them.
 */
import {
  assertKnownFields,
  configError,
  isObject,
  join,
  optArray,
  optObject,
  optString,
  reqObject,
  type Json,
  type JsonObject,
} from '../config/fields.js';
import type { NodeInfo } from '../context.js';
import { parseSocketAddress, type SocketAddress } from '../listener/address.js';

export interface AdminConfig {
  readonly address: SocketAddress;
  readonly accessLog: Json | undefined;
  readonly accessLogPath: string | undefined;
}

export interface BootstrapConfig {
  readonly node: NodeInfo;
  /** The node as written, for the ADS client and /server_info. */
  readonly nodeJson: JsonObject;
  readonly admin: AdminConfig | undefined;
  readonly listeners: Array<{ json: JsonObject; path: string }>;
  readonly clusters: Array<{ json: JsonObject; path: string }>;
  readonly secrets: Array<{ json: JsonObject; path: string }>;
  /** dynamic_resources as written, for the ADS client; undefined when the proxy runs from static config only. */
  readonly dynamic: JsonObject | undefined;
  readonly raw: JsonObject;
}

const TOP = ['node', 'admin', 'static_resources', 'dynamic_resources', 'layered_runtime'];

function compileNode(json: JsonObject | undefined): NodeInfo {
  if (!json) return { id: 'sailfin-proxy', cluster: 'sailfin', metadata: {} };
  assertKnownFields(json, ['id', 'cluster', 'metadata', 'locality', 'user_agent_name', 'user_agent_version'], 'node');
  const metadata = optObject(json, 'metadata', 'node') ?? {};
  return { id: optString(json, 'id', 'node') ?? 'sailfin-proxy', cluster: optString(json, 'cluster', 'node') ?? 'sailfin', metadata };
}

function compileAdmin(json: JsonObject | undefined): AdminConfig | undefined {
  if (!json) return undefined;
  assertKnownFields(json, ['address', 'access_log', 'access_log_path', 'profile_path'], 'admin');
  const address = parseSocketAddress(reqObject(json, 'address', 'admin'), 'admin.address');
  return { address, accessLog: json.access_log, accessLogPath: optString(json, 'access_log_path', 'admin') };
}

function namedList(parent: JsonObject, key: string, path: string): Array<{ json: JsonObject; path: string }> {
  const seen = new Set<string>();
  return optArray(parent, key, path).map((item, i) => {
    const p = join(join(path, key), i);
    if (!isObject(item)) throw configError(p, 'must be an object');
    const name = item.name;
    if (typeof name === 'string') {
      if (seen.has(name)) throw configError(join(p, 'name'), `duplicate name "${name}"`);
      seen.add(name);
    }
    return { json: item, path: p };
  });
}

function checkConfigSource(json: JsonObject | undefined, path: string): void {
  if (!json) return;
  assertKnownFields(json, ['ads', 'resource_api_version', 'initial_fetch_timeout'], path);
  if (!isObject(json.ads)) throw configError(join(path, 'ads'), 'Sailfin reads dynamic config over ADS only: set `ads: {}`');
  const v = json.resource_api_version;
  if (v !== undefined && v !== 'V3') throw configError(join(path, 'resource_api_version'), `unsupported value ${JSON.stringify(v)} (only V3)`);
}

function checkDynamic(json: JsonObject | undefined): void {
  if (!json) return;
  const path = 'dynamic_resources';
  assertKnownFields(json, ['ads_config', 'cds_config', 'lds_config'], path);
  const ads = optObject(json, 'ads_config', path);
  if (ads) {
    const p = join(path, 'ads_config');
    assertKnownFields(ads, ['api_type', 'transport_api_version', 'grpc_services', 'set_node_on_first_message_only'], p);
    optArray(ads, 'grpc_services', p).forEach((s, i) => {
      const sp = join(join(p, 'grpc_services'), i);
      if (!isObject(s)) throw configError(sp, 'must be an object');
      assertKnownFields(s, ['envoy_grpc', 'google_grpc', 'timeout', 'initial_metadata'], sp);
    });
  }
  checkConfigSource(optObject(json, 'cds_config', path), join(path, 'cds_config'));
  checkConfigSource(optObject(json, 'lds_config', path), join(path, 'lds_config'));
}

/** Splits a bootstrap into its parts; throws SailfinError naming the first unsupported field. */
export function compileBootstrap(json: JsonObject): BootstrapConfig {
  assertKnownFields(json, TOP, '');
  const nodeJson = optObject(json, 'node', '') ?? {};
  const statics = optObject(json, 'static_resources', '') ?? {};
  assertKnownFields(statics, ['listeners', 'clusters', 'secrets'], 'static_resources');
  const dynamic = optObject(json, 'dynamic_resources', '');
  checkDynamic(dynamic);
  // layered_runtime is accepted (Istio's bootstrap always has one) but Sailfin has no runtime overrides.
  optObject(json, 'layered_runtime', '');
  return {
    node: compileNode(optObject(json, 'node', '')),
    nodeJson,
    admin: compileAdmin(optObject(json, 'admin', '')),
    listeners: namedList(statics, 'listeners', 'static_resources'),
    clusters: namedList(statics, 'clusters', 'static_resources'),
    secrets: namedList(statics, 'secrets', 'static_resources'),
    dynamic,
    raw: json,
  };
}
