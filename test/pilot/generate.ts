/**
 * Driving the pilot generator in tests: a connected proxy made from a node id and metadata, and one
 * xDS type generated as a map by resource name, each resource checked to encode as the real Envoy v3
 * protobuf (config Envoy would refuse must fail the test, not only the proxy).
 */
import assert from 'node:assert/strict';
import type { JsonObject } from '../../src/proxy/config/fields.js';
import { PilotGenerator, type PilotSnapshot } from '../../src/pilot/generator.js';
import { sidecarNodeId } from '../../src/pilot/proxy-info.js';
import { fromEnvoyJson } from '../../src/xds/envoy-json.js';
import type { ConnectedProxy } from '../../src/xds/generator.js';
import type { XdsTypeUrl } from '../../src/xds/protos.js';

export function connectedProxy(id: string, metadata: Record<string, unknown> = {}, connectionId = '1'): ConnectedProxy {
  return { id, connectionId, node: { id }, metadata: metadata as JsonObject, connectedAt: new Date(), subscribedNames: () => [], scratch: new Map() };
}

/** A sidecar of pod `pod` in `namespace` with these workload labels. */
export function sidecarProxy(ip: string, pod: string, namespace: string, labels: Record<string, string>): ConnectedProxy {
  return connectedProxy(sidecarNodeId(ip, pod, namespace), { LABELS: labels }, pod);
}

/** `from` a snapshot (a fresh generator) or a generator kept across calls (to see what it caches). */
export function generate(from: PilotSnapshot | PilotGenerator, p: ConnectedProxy, type: XdsTypeUrl, names: string[] = []): Map<string, JsonObject> {
  const g = from instanceof PilotGenerator ? from : new PilotGenerator(() => from);
  const out = new Map<string, JsonObject>();
  for (const r of g.generate(p, type, names) as Array<{ name: string; resource: JsonObject }>) {
    assert.doesNotThrow(() => fromEnvoyJson(type, r.resource), `${r.name} is not valid ${type}`);
    out.set(r.name, r.resource);
  }
  return out;
}
