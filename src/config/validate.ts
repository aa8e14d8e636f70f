/**
 * Everything that decides whether a set of objects may be accepted at all, object by object: Istio's
 * OpenAPI schemas, the checks Istio's webhook and the Kubernetes API server add, and duplicates within
 * the set. The config store refuses a batch with any Error from here; cross-object findings (a route
 * to a host that does not exist) are the analyzers' job and never block a load.
 */
import { checkIstioObject } from './istio-rules.js';
import { checkKubeObject } from './kube-rules.js';
import { MessageTypes, type AnalysisMessage } from './messages.js';
import { resourceKey, type LoadedResource } from './resource.js';
import { validateIstioSchema } from './schema.js';
import { unknownFieldWarnings } from './unknown-fields.js';

/**
 * Results by object: loaded objects are never changed after loading, and a reload hands back the same
 * object for an unchanged file (loader.ts ParseCache), so only what changed is validated again.
 */
const validated = new WeakMap<LoadedResource, AnalysisMessage[]>();

export function validateObject(loaded: LoadedResource): AnalysisMessage[] {
  let messages = validated.get(loaded);
  if (!messages) validated.set(loaded, (messages = checkObject(loaded)));
  return messages;
}

function checkObject(loaded: LoadedResource): AnalysisMessage[] {
  const messages = [...checkKubeObject(loaded), ...checkIstioObject(loaded), ...validateIstioSchema(loaded), ...unknownFieldWarnings(loaded)];
  // The rules and the schema often see the same mistake (a weight of 1.5); say it once per field.
  const seen = new Set<string>();
  return messages.filter((m) => {
    if (m.field === undefined) return true;
    const key = `${m.type.code} ${m.field}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Validates every object and reports objects defined twice, naming both places. */
export function validateBatch(batch: readonly LoadedResource[]): AnalysisMessage[] {
  const messages: AnalysisMessage[] = [...duplicateMessages(batch)];
  for (const loaded of batch) messages.push(...validateObject(loaded));
  return messages;
}

export function duplicateMessages(batch: readonly LoadedResource[]): AnalysisMessage[] {
  const seen = new Map<string, LoadedResource>();
  const out: AnalysisMessage[] = [];
  for (const loaded of batch) {
    const { kind, metadata } = loaded.resource;
    const key = resourceKey(kind, metadata.namespace, metadata.name);
    const first = seen.get(key);
    if (!first) {
      seen.set(key, loaded);
      continue;
    }
    out.push({
      type: MessageTypes.DuplicateResource,
      message: `${kind} ${metadata.namespace ? `${metadata.namespace}/` : ''}${metadata.name} is defined twice: at ${where(first)} and at ${where(loaded)}`,
      resource: { kind, namespace: metadata.namespace, name: metadata.name },
      location: { file: loaded.source.file, line: loaded.source.line },
    });
  }
  return out;
}

function where(loaded: LoadedResource): string {
  return `${loaded.source.file ?? '(input)'}:${loaded.source.line ?? 1}`;
}
