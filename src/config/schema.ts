/**
 * Checks Istio objects against Istio's published OpenAPI schemas (the CRD schemas, as packaged by
 * `@kubernetes-models/istio`), the same check the API server does on `kubectl apply`, and turns each
 * violation into an IST0106 message at the offending field's line. Istio serves identical schemas for
 * v1, v1beta1 and v1alpha3, so the v1beta1 schema checks all three.
 */
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule';
import { Gateway } from '@kubernetes-models/istio/networking.istio.io/v1beta1/Gateway';
import { ServiceEntry } from '@kubernetes-models/istio/networking.istio.io/v1beta1/ServiceEntry';
import { Sidecar } from '@kubernetes-models/istio/networking.istio.io/v1beta1/Sidecar';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService';
import { WorkloadEntry } from '@kubernetes-models/istio/networking.istio.io/v1beta1/WorkloadEntry';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1beta1/AuthorizationPolicy';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1/PeerAuthentication';
import { RequestAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1/RequestAuthentication';
import { childPath, MessageTypes, resourceMessage, type AnalysisMessage } from './messages.js';
import type { LoadedResource } from './resource.js';

interface SchemaModel {
  readonly apiVersion: string;
  new (data: object): { validate(): void };
}

const MODELS: ReadonlyMap<string, SchemaModel> = new Map<string, SchemaModel>([
  ['Gateway', Gateway as unknown as SchemaModel],
  ['VirtualService', VirtualService as unknown as SchemaModel],
  ['DestinationRule', DestinationRule as unknown as SchemaModel],
  ['ServiceEntry', ServiceEntry as unknown as SchemaModel],
  ['WorkloadEntry', WorkloadEntry as unknown as SchemaModel],
  ['Sidecar', Sidecar as unknown as SchemaModel],
  ['PeerAuthentication', PeerAuthentication as unknown as SchemaModel],
  ['AuthorizationPolicy', AuthorizationPolicy as unknown as SchemaModel],
  ['RequestAuthentication', RequestAuthentication as unknown as SchemaModel],
]);

/** The part of an Ajv error this file reads. */
interface SchemaViolation {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  schema?: unknown;
}

export function hasIstioSchema(kind: string): boolean {
  return MODELS.has(kind);
}

/** IST0106 messages for every schema violation of one Istio object (none for other kinds). */
export function validateIstioSchema(loaded: LoadedResource): AnalysisMessage[] {
  const model = MODELS.get(loaded.resource.kind);
  if (!model) return [];
  try {
    new model({ ...loaded.resource, apiVersion: model.apiVersion }).validate();
    return [];
  } catch (err) {
    const violations = (err as { errors?: SchemaViolation[] }).errors;
    if (!Array.isArray(violations)) {
      return [resourceMessage(loaded, MessageTypes.SchemaValidationError, `Schema validation error: ${(err as Error).message}`)];
    }
    return describeViolations(loaded, violations);
  }
}

function describeViolations(loaded: LoadedResource, violations: readonly SchemaViolation[]): AnalysisMessage[] {
  // A failed oneOf/anyOf also reports why each branch failed; only the oneOf itself says something useful.
  const branchRoots = violations.filter((v) => v.keyword === 'oneOf' || v.keyword === 'anyOf').map((v) => `${v.schemaPath}/`);
  const seenPaths = new Set<string>();
  const out: AnalysisMessage[] = [];
  for (const v of violations) {
    if (branchRoots.some((root) => v.schemaPath.startsWith(root))) continue;
    const field = fieldPath(loaded.resource, v);
    if (seenPaths.has(field)) continue; // e.g. "must be integer" then "must match format int32"
    seenPaths.add(field);
    out.push(resourceMessage(loaded, MessageTypes.SchemaValidationError, `Schema validation error: ${field || 'object'}: ${explain(v)}`, field || undefined));
  }
  return out;
}

/** `/spec/http/0/route` → `spec.http[0].route`, reading the data to tell array indexes from map keys. */
function fieldPath(data: unknown, v: SchemaViolation): string {
  let path = '';
  let current: unknown = data;
  const segments = v.instancePath === '' ? [] : v.instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (const segment of segments) {
    if (Array.isArray(current)) {
      path = childPath(path, Number(segment));
      current = current[Number(segment)];
    } else {
      path = childPath(path, segment);
      current = current && typeof current === 'object' ? (current as Record<string, unknown>)[segment] : undefined;
    }
  }
  if (v.keyword === 'required' && typeof v.params.missingProperty === 'string') path = childPath(path, v.params.missingProperty);
  return path;
}

function explain(v: SchemaViolation): string {
  switch (v.keyword) {
    case 'type':
      return `must be ${article(String(v.params.type))}`;
    case 'enum':
      return `must be one of ${(v.params.allowedValues as unknown[]).map((a) => JSON.stringify(a)).join(', ')}`;
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return `unknown field ${JSON.stringify(v.params.additionalProperty)}`;
    case 'oneOf':
    case 'anyOf': {
      const names = requiredNames(v.schema);
      return names.length > 0 ? `set at most one of ${names.join(', ')}` : (v.message ?? 'is not valid');
    }
    case 'format':
      return `must be ${String(v.params.format) === 'int32' ? 'a 32-bit integer' : `in ${String(v.params.format)} format`}`;
    default:
      return v.message ?? 'is not valid';
  }
}

function article(type: string): string {
  const word = type === 'integer' ? 'an integer' : type === 'object' ? 'a mapping' : type === 'array' ? 'a list' : `a ${type}`;
  return word;
}

/** Field names appearing in `required` lists anywhere under a oneOf/anyOf schema. */
function requiredNames(schema: unknown): string[] {
  const names = new Set<string>();
  const stack: unknown[] = [schema];
  while (stack.length > 0) {
    const node = stack.shift(); // breadth first keeps the schema's order: exact, prefix, regex
    if (Array.isArray(node)) stack.push(...node);
    else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      if (Array.isArray(obj.required)) for (const n of obj.required) names.add(String(n));
      for (const key of ['oneOf', 'anyOf', 'allOf', 'not']) if (obj[key]) stack.push(obj[key]);
    }
  }
  return [...names];
}
