/**
 * ClusterLoadAssignment (inline `load_assignment` or pushed over EDS) → endpoint specs grouped by
 * priority and locality. Compiled when it arrives; a bad field throws naming its path and the
 * cluster keeps its previous endpoints.
 */
import type { Locality } from './api.js';
import { type EdsHealth, type EndpointSpec, NO_LOCALITY } from './host.js';
import {
  type Json,
  type JsonObject,
  assertKnownFields,
  configError,
  isObject,
  join,
  optArray,
  optNumber,
  optObject,
  optString,
  reqObject,
  unsupported,
} from '../config/fields.js';

export interface CompiledLoadAssignment {
  clusterName?: string;
  endpoints: EndpointSpec[];
  /** Percent (Envoy's default 140): how much a partly healthy priority or locality is trusted. */
  overprovisioningFactor: number;
  /** The JSON as given, for config dumps. */
  json: JsonObject;
}

const HEALTH: readonly EdsHealth[] = ['HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED', 'UNKNOWN'];

export function compileLoadAssignment(json: Json | undefined, path: string): CompiledLoadAssignment {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, ['cluster_name', 'endpoints', 'policy'], path);
  const out: CompiledLoadAssignment = { clusterName: optString(json, 'cluster_name', path), endpoints: [], overprovisioningFactor: 140, json };
  const policy = optObject(json, 'policy', path);
  if (policy) {
    const pp = join(path, 'policy');
    assertKnownFields(policy, ['overprovisioning_factor', 'drop_overloads', 'endpoint_stale_after'], pp);
    if (optArray(policy, 'drop_overloads', pp).length > 0) throw unsupported(join(pp, 'drop_overloads'), 'drop_overloads is not supported by Sailfin');
    out.overprovisioningFactor = optNumber(policy, 'overprovisioning_factor', pp, { min: 1, integer: true }) ?? 140;
  }
  optArray(json, 'endpoints', path).forEach((group, gi) => compileLocalityGroup(group, join(join(path, 'endpoints'), gi), out.endpoints));
  return out;
}

function compileLocalityGroup(group: Json, path: string, out: EndpointSpec[]): void {
  if (!isObject(group)) throw configError(path, 'must be an object');
  assertKnownFields(group, ['locality', 'lb_endpoints', 'load_balancing_weight', 'priority', 'metadata'], path);
  const locality = compileLocality(optObject(group, 'locality', path), join(path, 'locality'));
  const localityWeight = optNumber(group, 'load_balancing_weight', path, { min: 1, integer: true }) ?? 0;
  const priority = optNumber(group, 'priority', path, { min: 0, max: 127, integer: true }) ?? 0;
  optArray(group, 'lb_endpoints', path).forEach((lbe, i) => {
    out.push(compileLbEndpoint(lbe, join(join(path, 'lb_endpoints'), i), locality, localityWeight, priority));
  });
}

function compileLocality(json: JsonObject | undefined, path: string): Locality {
  if (!json) return NO_LOCALITY;
  assertKnownFields(json, ['region', 'zone', 'sub_zone'], path);
  return Object.freeze({
    region: optString(json, 'region', path) ?? '',
    zone: optString(json, 'zone', path) ?? '',
    subZone: optString(json, 'sub_zone', path) ?? '',
  });
}

function compileLbEndpoint(json: Json, path: string, locality: Locality, localityWeight: number, priority: number): EndpointSpec {
  if (!isObject(json)) throw configError(path, 'must be an object');
  assertKnownFields(json, ['endpoint', 'health_status', 'metadata', 'load_balancing_weight'], path);
  const ep = reqObject(json, 'endpoint', path);
  const ePath = join(path, 'endpoint');
  assertKnownFields(ep, ['address', 'health_check_config', 'hostname'], ePath);
  const { address, port } = compileSocketAddress(reqObject(ep, 'address', ePath), join(ePath, 'address'));
  const healthRaw = json.health_status ?? 'UNKNOWN';
  if (typeof healthRaw !== 'string' || !HEALTH.includes(healthRaw as EdsHealth)) {
    throw configError(join(path, 'health_status'), `unsupported value ${JSON.stringify(healthRaw)} (one of ${HEALTH.join(', ')})`);
  }
  return {
    address,
    port,
    hostname: optString(ep, 'hostname', ePath) || undefined,
    weight: optNumber(json, 'load_balancing_weight', path, { min: 1, integer: true }) ?? 1,
    locality,
    localityWeight,
    priority,
    metadata: compileMetadata(json, path),
    health: healthRaw as EdsHealth,
  };
}

/** `metadata.filter_metadata` as a plain object (typed_filter_metadata is accepted and kept out). */
export function compileMetadata(parent: JsonObject, path: string): Record<string, unknown> {
  const md = optObject(parent, 'metadata', path);
  if (!md) return {};
  assertKnownFields(md, ['filter_metadata', 'typed_filter_metadata'], join(path, 'metadata'));
  return (optObject(md, 'filter_metadata', join(path, 'metadata')) ?? {}) as Record<string, unknown>;
}

/** An Address with a socket_address; the only kind of upstream address Sailfin connects to. */
export function compileSocketAddress(json: JsonObject, path: string): { address: string; port: number } {
  assertKnownFields(json, ['socket_address'], path);
  const sa = reqObject(json, 'socket_address', path);
  const sPath = join(path, 'socket_address');
  assertKnownFields(sa, ['address', 'port_value', 'protocol', 'ipv4_compat'], sPath);
  const protocol = optString(sa, 'protocol', sPath);
  if (protocol !== undefined && protocol !== 'TCP') throw unsupported(join(sPath, 'protocol'), `unsupported value "${protocol}" (only TCP)`);
  const address = optString(sa, 'address', sPath);
  if (!address) throw configError(join(sPath, 'address'), 'required field is missing');
  const port = optNumber(sa, 'port_value', sPath, { min: 0, max: 65535, integer: true }) ?? 0;
  return { address, port };
}
