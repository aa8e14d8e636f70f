/**
 * Turns the documents of one file into resources: checks the envelope (apiVersion, kind,
 * metadata.name), unwraps `List` objects, defaults the namespace, and records where every object
 * and field came from. Anything that is not a usable object becomes a message instead.
 */
import type { Node } from 'yaml';
import { isListKind, lookupKind, apiVersionsOf } from './kinds.js';
import { MessageTypes, type AnalysisMessage } from './messages.js';
import type { LoadedResource, ObjectMeta, Resource } from './resource.js';
import { collectFieldLines, listItemNodes, parseYaml } from './yaml-documents.js';

export const DEFAULT_NAMESPACE = 'default';

export interface ParsedFile {
  resources: LoadedResource[];
  messages: AnalysisMessage[];
}

/** Parses one file's text (YAML or JSON, one or many documents). */
export function parseConfigText(text: string, file: string): ParsedFile {
  const out: ParsedFile = { resources: [], messages: [] };
  const parsed = parseYaml(text);
  for (const p of parsed.problems) {
    out.messages.push({
      type: MessageTypes.YamlSyntaxError,
      message: `YAML syntax error in document ${p.document + 1}: ${p.message}`,
      location: { file, line: p.line },
    });
  }
  for (const doc of parsed.documents) {
    if (doc.value === null || doc.value === undefined) continue; // an empty document between `---` lines
    const at = { file, line: doc.line, document: doc.index };
    const value = doc.value;
    if (isPlainObject(value) && typeof value.apiVersion === 'string' && typeof value.kind === 'string' && isListKind(value.apiVersion, value.kind)) {
      if (!Array.isArray(value.items)) {
        out.messages.push(envelopeError(`${value.kind} has no "items" array`, at, 'items'));
        continue;
      }
      const nodes = listItemNodes(doc.node);
      value.items.forEach((item: unknown, i: number) => {
        const node = nodes[i] ?? null;
        const line = node?.range ? parsed.lineOf(node.range[0]) : doc.line;
        accept(item, node, { file, line, document: doc.index }, out, parsed.lineOf);
      });
      continue;
    }
    accept(value, doc.node, at, out, parsed.lineOf);
  }
  return out;
}

interface Origin {
  file: string;
  line: number;
  document: number;
}

function accept(value: unknown, node: Node | null, at: Origin, out: ParsedFile, lineOf: (offset: number) => number): void {
  if (!isPlainObject(value)) {
    out.messages.push(envelopeError('document is not a Kubernetes object (expected a mapping with apiVersion, kind and metadata)', at));
    return;
  }
  const fieldLines = collectFieldLines(node, lineOf);
  const lineOfField = (f: string): number => fieldLines.get(f) ?? at.line;
  const { apiVersion, kind } = value;
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    out.messages.push(envelopeError('apiVersion is required (a non-empty string)', { ...at, line: lineOfField('apiVersion') }, 'apiVersion'));
    return;
  }
  if (typeof kind !== 'string' || kind === '') {
    out.messages.push(envelopeError('kind is required (a non-empty string)', { ...at, line: lineOfField('kind') }, 'kind'));
    return;
  }
  const lookup = lookupKind(apiVersion, kind);
  if (lookup.status === 'unknown') {
    out.messages.push({
      type: MessageTypes.UnknownKind,
      message: `Unknown kind ${kind} (apiVersion ${apiVersion}); Sailfin does not use it and ignores it`,
      resource: { kind, namespace: namespaceOf(value), name: nameOf(value) ?? '' },
      location: { file: at.file, line: lineOfField('kind') },
      field: 'kind',
    });
    return;
  }
  if (lookup.status === 'wrong-version') {
    out.messages.push({
      type: MessageTypes.SchemaValidationError,
      message: `Schema validation error: apiVersion "${apiVersion}" is not served for kind ${kind}; use ${apiVersionsOf(lookup.info).join(' or ')}`,
      resource: { kind, namespace: lookup.info.clusterScoped ? undefined : (namespaceOf(value) ?? DEFAULT_NAMESPACE), name: nameOf(value) ?? '' },
      location: { file: at.file, line: lineOfField('apiVersion') },
      field: 'apiVersion',
    });
    return;
  }
  const metadata = value.metadata;
  if (!isPlainObject(metadata)) {
    out.messages.push(envelopeError(`${kind}: metadata is required (a mapping with at least "name")`, at, 'metadata', kind));
    return;
  }
  if (typeof metadata.name !== 'string' || metadata.name === '') {
    out.messages.push(envelopeError(`${kind}: metadata.name is required`, { ...at, line: lineOfField('metadata') }, 'metadata.name', kind));
    return;
  }
  if (metadata.namespace !== undefined && (typeof metadata.namespace !== 'string' || metadata.namespace === '')) {
    out.messages.push(envelopeError(`${kind}: metadata.namespace must be a non-empty string`, { ...at, line: lineOfField('metadata.namespace') }, 'metadata.namespace', kind));
    return;
  }
  const meta = { ...metadata } as unknown as ObjectMeta;
  if (lookup.info.clusterScoped) delete meta.namespace;
  else meta.namespace ??= DEFAULT_NAMESPACE;
  const resource = { ...value, metadata: meta } as Resource;
  out.resources.push({ resource, source: { file: at.file, line: at.line, document: at.document, fieldLines } });
}

function envelopeError(message: string, at: { file: string; line: number }, field?: string, kind?: string): AnalysisMessage {
  return {
    type: MessageTypes.SchemaValidationError,
    message: `Schema validation error: ${message}`,
    location: { file: at.file, line: at.line },
    field,
    ...(kind ? { resource: { kind, name: '' } } : {}),
  };
}

function namespaceOf(value: Record<string, unknown>): string | undefined {
  const meta = value.metadata;
  return isPlainObject(meta) && typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
}

function nameOf(value: Record<string, unknown>): string | undefined {
  const meta = value.metadata;
  return isPlainObject(meta) && typeof meta.name === 'string' ? meta.name : undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
