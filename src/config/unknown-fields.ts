/**
 * Fields Istio's published schema does not know, such as `subset.label` for `labels` or `destination.subsets`:
 * the API server would prune them silently and the setting would simply not happen, which is the
 * hardest kind of mistake to see. Reported as a Warning, because the packaged schemas are from Istio 1.18
 * and newer releases added fields (listed in NEWER_FIELDS so they are not flagged).
 *
 * The schemas are the ones `@kubernetes-models/istio` ships; that package does not export them, so they
 * are read from its generated module text once per kind. If that ever fails (a different package
 * layout) the check is skipped rather than guessed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isPlainObject } from './documents.js';
import { childPath, MessageTypes, resourceMessage, type AnalysisMessage } from './messages.js';
import type { LoadedResource } from './resource.js';

/** Valid fields added to Istio's APIs after the packaged schemas were generated. */
const NEWER_FIELDS = new Set([
  'mirrors',
  'statPrefix',
  'retryBudget',
  'proxyProtocol',
  'tunnel',
  'warmup',
  'warmupDurationSecs',
  'maxConcurrentStreams',
  'credentialNames',
  'caCertCredentialName',
  'tlsCertificates',
  'backoff',
  'retryIgnorePreviousHosts',
  'ringHash',
  'maglev',
  'uriRegexRewrite',
  'idleTimeout',
  'maxConnectionDuration',
  'consecutiveLocalOriginFailures',
  'splitExternalLocalOriginErrors',
  'failoverPriority',
  'sourceNamespace',
  'caCrl',
  'insecureSkipVerify',
  'exponentialDelay',
  'http2Error',
  'useClientProtocol',
  'targetRefs',
  'targetRef',
  'serviceAccount',
]);

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  additionalProperties?: unknown;
  items?: SchemaNode;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

const MODULES: Readonly<Record<string, string>> = {
  Gateway: 'networking.istio.io/v1beta1/Gateway',
  VirtualService: 'networking.istio.io/v1beta1/VirtualService',
  DestinationRule: 'networking.istio.io/v1beta1/DestinationRule',
  ServiceEntry: 'networking.istio.io/v1beta1/ServiceEntry',
  WorkloadEntry: 'networking.istio.io/v1beta1/WorkloadEntry',
  Sidecar: 'networking.istio.io/v1beta1/Sidecar',
  PeerAuthentication: 'security.istio.io/v1beta1/PeerAuthentication',
  AuthorizationPolicy: 'security.istio.io/v1beta1/AuthorizationPolicy',
  RequestAuthentication: 'security.istio.io/v1beta1/RequestAuthentication',
};

const specSchemas = new Map<string, SchemaNode | null>();

/** The `spec` schema of an Istio kind, or null when it cannot be read. */
function specSchemaOf(kind: string): SchemaNode | null {
  const cached = specSchemas.get(kind);
  if (cached !== undefined) return cached;
  let schema: SchemaNode | null = null;
  const module = MODULES[kind];
  if (module) {
    try {
      const text = readFileSync(fileURLToPath(import.meta.resolve(`@kubernetes-models/istio/${module}`)), 'utf8');
      const start = text.indexOf('const schema = ');
      const end = text.indexOf('\n};\n', start);
      if (start >= 0 && end > start) {
        const parsed = JSON.parse(text.slice(start + 'const schema = '.length, end + 2)) as SchemaNode;
        schema = parsed.properties?.spec ?? null;
      }
    } catch {
      schema = null;
    }
  }
  specSchemas.set(kind, schema);
  return schema;
}

/** Warnings for every field under `spec` that the kind's schema does not define. */
export function unknownFieldWarnings(loaded: LoadedResource): AnalysisMessage[] {
  const schema = specSchemaOf(loaded.resource.kind);
  if (!schema) return [];
  const out: AnalysisMessage[] = [];
  const stack: Array<{ node: SchemaNode; value: unknown; path: string }> = [{ node: schema, value: loaded.resource.spec, path: 'spec' }];
  while (stack.length > 0) {
    const { node, value, path } = stack.pop()!;
    if (Array.isArray(value)) {
      if (node.items) value.forEach((v, i) => stack.push({ node: node.items!, value: v, path: childPath(path, i) }));
      continue;
    }
    if (!isPlainObject(value) || !node.properties || node['x-kubernetes-preserve-unknown-fields']) continue;
    for (const [key, child] of Object.entries(value)) {
      const childNode = node.properties[key];
      const field = childPath(path, key);
      if (childNode) stack.push({ node: childNode, value: child, path: field });
      else if (node.additionalProperties === undefined && !NEWER_FIELDS.has(key)) {
        const known = Object.keys(node.properties).sort();
        const guess = closest(key, known);
        const hint = guess ? `; did you mean ${JSON.stringify(guess)}?` : ` (known fields here: ${known.join(', ')})`;
        out.push(resourceMessage(loaded, MessageTypes.UnknownField, `unknown field ${JSON.stringify(key)} is ignored${hint}`, field));
      }
    }
  }
  return out.sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0)); // document order
}

/** The known name within two edits of `name` (a typo), if there is exactly one best. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance with adjacent transpositions counted as one edit (`wieght` → `weight`). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
