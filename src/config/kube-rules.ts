/**
 * The Kubernetes API server's own checks on the core objects Sailfin reads (the ones `kubectl apply`
 * would refuse), so a manifest that could never reach a real cluster is refused here too, with the
 * field and line, instead of producing a half-built service or pod.
 */
import { FieldChecks, asObject, objectItems, stringMap } from './field-checks.js';
import { MESH_CONFIGMAP_KEY, MESH_CONFIGMAP_NAME, parseMeshConfig } from './mesh-config.js';
import type { AnalysisMessage } from './messages.js';
import type { LoadedResource } from './resource.js';
import { TLS_SECRET_TYPE } from './secret.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function checkKubeObject(loaded: LoadedResource): AnalysisMessage[] {
  const c = new FieldChecks(loaded);
  switch (loaded.resource.kind) {
    case 'Service':
      checkService(c);
      break;
    case 'Pod':
      checkPodSpec(c, c.spec(), 'spec');
      break;
    case 'EndpointSlice':
      checkEndpointSlice(c);
      break;
    case 'Deployment':
    case 'StatefulSet':
      checkController(c);
      break;
    case 'Secret':
      checkSecret(c);
      break;
    case 'ConfigMap':
      return checkConfigMap(loaded);
  }
  return c.messages;
}

function checkService(c: FieldChecks): void {
  const spec = c.spec();
  const headless = spec.clusterIP === 'None';
  const external = spec.type === 'ExternalName';
  if (!headless && !external) c.required('spec.ports', spec.ports, 'at least one port is required');
  const ports = objectItems(spec.ports, 'spec.ports');
  const names = new Map<string, string>();
  for (const { item, path } of ports) {
    checkPortNumber(c, `${path}.port`, item.port, true);
    if (item.targetPort !== undefined && typeof item.targetPort !== 'string') checkPortNumber(c, `${path}.targetPort`, item.targetPort, true);
    if (typeof item.targetPort === 'string' && !IANA_SVC_NAME.test(item.targetPort)) c.error(`${path}.targetPort`, `${JSON.stringify(item.targetPort)} is not a valid port name`);
    if (ports.length > 1 && c.required(`${path}.name`, item.name, 'is required when a Service has more than one port')) {
      const name = String(item.name);
      const first = names.get(name);
      if (first) c.error(`${path}.name`, `duplicate port name ${JSON.stringify(name)} (also ${first})`);
      else names.set(name, path);
    }
    if (typeof item.name === 'string' && item.name !== '' && !DNS_LABEL.test(item.name)) c.error(`${path}.name`, `${JSON.stringify(item.name)} must be a lowercase DNS label`);
    if (item.protocol !== undefined && !['TCP', 'UDP', 'SCTP'].includes(String(item.protocol))) c.error(`${path}.protocol`, 'must be one of "TCP", "UDP", "SCTP"');
  }
}

/** What the API server requires of a slice the registry reads: its address type, each endpoint's addresses, port numbers. */
function checkEndpointSlice(c: FieldChecks): void {
  const r = c.loaded.resource;
  if (c.required('addressType', r.addressType) && !['IPv4', 'IPv6', 'FQDN'].includes(String(r.addressType))) c.error('addressType', 'must be one of "IPv4", "IPv6", "FQDN"');
  for (const { item, path } of objectItems(r.endpoints, 'endpoints')) {
    if (!Array.isArray(item.addresses) || item.addresses.length === 0 || !item.addresses.every((a) => typeof a === 'string' && a !== '')) {
      c.error(`${path}.addresses`, 'must be a non-empty list of addresses');
    }
  }
  // A null port is allowed: it means "all ports" (the registry skips it, having no port to map).
  for (const { item, path } of objectItems(r.ports, 'ports')) if (item.port !== null) checkPortNumber(c, `${path}.port`, item.port, false);
}

function checkPortNumber(c: FieldChecks, field: string, value: unknown, required: boolean): void {
  if (value === undefined) {
    if (required) c.error(field, 'is required');
    return;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) c.error(field, `must be an integer between 1 and 65535, not ${JSON.stringify(value)}`);
}

function checkPodSpec(c: FieldChecks, spec: Record<string, unknown>, path: string): void {
  if (!c.required(`${path}.containers`, spec.containers, 'at least one container is required')) return;
  if (!Array.isArray(spec.containers)) {
    c.error(`${path}.containers`, 'must be a list');
    return;
  }
  for (const { item, path: cpath } of objectItems(spec.containers, `${path}.containers`)) {
    c.required(`${cpath}.name`, item.name);
    for (const { item: port, path: ppath } of objectItems(item.ports, `${cpath}.ports`)) checkPortNumber(c, `${ppath}.containerPort`, port.containerPort, true);
  }
}

function checkController(c: FieldChecks): void {
  const spec = c.spec();
  const replicas = spec.replicas;
  if (replicas !== undefined && (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)) c.error('spec.replicas', `must be a non-negative integer, not ${JSON.stringify(replicas)}`);
  if (!c.required('spec.selector', spec.selector)) return;
  if (!c.required('spec.template', spec.template)) return;
  const template = asObject(spec.template);
  const labels = stringMap(asObject(template.metadata).labels);
  const matchLabels = stringMap(asObject(spec.selector).matchLabels);
  if (Object.keys(matchLabels).length === 0 && asObject(spec.selector).matchExpressions === undefined) c.error('spec.selector', 'must select at least one label');
  for (const [key, value] of Object.entries(matchLabels)) {
    if (labels[key] !== value) {
      c.error('spec.template.metadata.labels', `selector does not match template labels (selector wants ${key}=${value})`);
      break;
    }
  }
  checkPodSpec(c, asObject(template.spec), 'spec.template.spec');
}

function checkSecret(c: FieldChecks): void {
  const r = c.loaded.resource;
  if (r.type !== TLS_SECRET_TYPE) return;
  const keys = new Set([...Object.keys(asObject(r.data)), ...Object.keys(asObject(r.stringData))]);
  for (const key of ['tls.crt', 'tls.key']) if (!keys.has(key)) c.error(`data["${key}"]`, `is required for a ${TLS_SECRET_TYPE} Secret`);
}

function checkConfigMap(loaded: LoadedResource): AnalysisMessage[] {
  const r = loaded.resource;
  if (r.metadata.name !== MESH_CONFIGMAP_NAME) return [];
  const mesh = asObject(r.data)[MESH_CONFIGMAP_KEY];
  if (mesh === undefined) return [];
  if (typeof mesh !== 'string') {
    const c = new FieldChecks(loaded);
    c.error(`data.${MESH_CONFIGMAP_KEY}`, 'must be a string holding the mesh config YAML');
    return c.messages;
  }
  return parseMeshConfig(mesh, loaded).messages;
}
