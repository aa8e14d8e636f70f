/**
 * Builders for registry tests: manifests as plain objects (with a made-up file:line), and config events.
 */
import type { ConfigEvent } from '../../src/config/events.js';
import type { LoadedResource } from '../../src/config/resource.js';

let line = 1;

export function resource(
  apiVersion: string,
  kind: string,
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> },
  spec?: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): LoadedResource {
  return {
    resource: { apiVersion, kind, metadata: { namespace: kind === 'Namespace' ? undefined : 'default', ...metadata }, ...(spec ? { spec } : {}), ...extra },
    source: { file: 'test.yaml', line: line++ },
  };
}

export function namespace(name: string, labels: Record<string, string> = {}): LoadedResource {
  return resource('v1', 'Namespace', { name, labels });
}

export function service(
  name: string,
  spec: Record<string, unknown>,
  meta: { namespace?: string; annotations?: Record<string, string> } = {},
): LoadedResource {
  return resource('v1', 'Service', { name, ...meta }, spec);
}

export interface PodShape {
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ip?: string;
  sa?: string;
  ready?: boolean;
  phase?: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  hostname?: string;
  subdomain?: string;
}

export function pod(name: string, p: PodShape = {}): LoadedResource {
  const status: Record<string, unknown> = {};
  if (p.ip) status.podIP = p.ip;
  if (p.phase) status.phase = p.phase;
  if (p.ready !== undefined) status.conditions = [{ type: 'Ready', status: p.ready ? 'True' : 'False' }];
  return resource(
    'v1',
    'Pod',
    { name, namespace: p.namespace ?? 'default', labels: p.labels ?? {}, ...(p.annotations ? { annotations: p.annotations } : {}) },
    {
      ...(p.sa ? { serviceAccountName: p.sa } : {}),
      ...(p.hostname ? { hostname: p.hostname } : {}),
      ...(p.subdomain ? { subdomain: p.subdomain } : {}),
      containers: [{ name: 'app', image: 'app', ports: p.ports ?? [] }],
    },
    Object.keys(status).length > 0 ? { status } : {},
  );
}

export function serviceEntry(name: string, spec: Record<string, unknown>, namespace = 'default'): LoadedResource {
  return resource('networking.istio.io/v1', 'ServiceEntry', { name, namespace }, spec);
}

export function workloadEntry(name: string, spec: Record<string, unknown>, namespace = 'default'): LoadedResource {
  return resource('networking.istio.io/v1', 'WorkloadEntry', { name, namespace }, spec);
}

export function meshConfigMap(mesh: string, namespace = 'istio-system'): LoadedResource {
  return resource('v1', 'ConfigMap', { name: 'istio', namespace }, undefined, { data: { mesh } });
}

export const up = (...rs: LoadedResource[]): ConfigEvent[] => rs.map((r) => ({ type: 'upsert', resource: r }));
export const del = (...rs: LoadedResource[]): ConfigEvent[] => rs.map((r) => ({ type: 'delete', resource: r }));
