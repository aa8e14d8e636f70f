/**
 * Analysis messages in the shape `istioctl analyze` prints them: a level, an IST code, the resource,
 * where it was read from, and a sentence. Istio's codes and wording are used where Istio has a message
 * for the problem, so users can look them up in Istio's docs; Sailfin's own problems (files it cannot
 * read, YAML that does not parse, kinds it does not know, duplicates) use SFN codes.
 */
import type { SourceLocation } from '../common/errors.js';
import type { LoadedResource, ResourceSource } from './resource.js';

export type Level = 'Error' | 'Warning' | 'Info';

export interface MessageType {
  readonly code: string;
  readonly name: string;
  readonly level: Level;
}

function type(code: string, name: string, level: Level): MessageType {
  return { code, name, level };
}

export const MessageTypes = {
  ReferencedResourceNotFound: type('IST0101', 'ReferencedResourceNotFound', 'Error'),
  GatewayPortNotOnWorkload: type('IST0104', 'GatewayPortNotOnWorkload', 'Warning'),
  SchemaValidationError: type('IST0106', 'SchemaValidationError', 'Error'),
  ConflictingMeshGatewayVirtualServiceHosts: type('IST0109', 'ConflictingMeshGatewayVirtualServiceHosts', 'Error'),
  VirtualServiceDestinationPortSelectorRequired: type('IST0112', 'VirtualServiceDestinationPortSelectorRequired', 'Error'),
  PortNameIsNotUnderNamingConvention: type('IST0118', 'PortNameIsNotUnderNamingConvention', 'Info'),
  NoMatchingWorkloadsFound: type('IST0127', 'NoMatchingWorkloadsFound', 'Warning'),
  NoServerCertificateVerificationDestinationLevel: type('IST0128', 'NoServerCertificateVerificationDestinationLevel', 'Warning'),
  NoServerCertificateVerificationPortLevel: type('IST0129', 'NoServerCertificateVerificationPortLevel', 'Warning'),
  VirtualServiceHostNotFoundInGateway: type('IST0132', 'VirtualServiceHostNotFoundInGateway', 'Warning'),
  SchemaWarning: type('IST0133', 'SchemaWarning', 'Warning'),
  ConflictingGateways: type('IST0145', 'ConflictingGateways', 'Error'),
  DestinationRuleSubsetNotSelectPods: type('IST0173', 'DestinationRuleSubsetNotSelectPods', 'Error'),
  // Sailfin's own: problems that happen before there is a resource to analyze.
  FileError: type('SFN0001', 'FileError', 'Error'),
  YamlSyntaxError: type('SFN0002', 'YamlSyntaxError', 'Error'),
  UnknownKind: type('SFN0003', 'UnknownKind', 'Warning'),
  DuplicateResource: type('SFN0004', 'DuplicateResource', 'Error'),
  AnalyzerFailure: type('SFN0005', 'AnalyzerFailure', 'Error'),
  UnknownField: type('SFN0006', 'UnknownField', 'Warning'),
} as const satisfies Record<string, MessageType>;

export interface ResourceRef {
  kind: string;
  namespace?: string;
  name: string;
}

export interface AnalysisMessage {
  readonly type: MessageType;
  readonly message: string;
  readonly resource?: ResourceRef;
  readonly location?: SourceLocation;
  /** Dotted path of the field the message is about, e.g. `spec.http[0].route[0].destination.host`. */
  readonly field?: string;
}

/** A message about a loaded resource, placed at the line of `field` (or its nearest ancestor that has one). */
export function resourceMessage(loaded: LoadedResource, type: MessageType, message: string, field?: string): AnalysisMessage {
  const meta = loaded.resource.metadata;
  return {
    type,
    message,
    resource: { kind: loaded.resource.kind, namespace: meta?.namespace, name: meta?.name ?? '' },
    location: { file: loaded.source.file, line: fieldLine(loaded.source, field) },
    field,
  };
}

const LAST_SEGMENT = /(?:\[(?:\d+|"(?:[^"\\]|\\.)*")\]|\.[^.[]+)$/;

/** Line of a field path, falling back to the closest ancestor that was recorded, then the document. */
export function fieldLine(source: ResourceSource, field: string | undefined): number | undefined {
  let path = field;
  while (path && source.fieldLines) {
    const line = source.fieldLines.get(path);
    if (line !== undefined) return line;
    const shorter = path.replace(LAST_SEGMENT, '');
    if (shorter === path) break;
    path = shorter;
  }
  return source.line;
}

/** Appends one step to a field path: `.key`, `["odd.key"]` or `[index]`. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${JSON.stringify(key)}]`;
}

export function hasErrors(messages: readonly AnalysisMessage[]): boolean {
  return messages.some((m) => m.type.level === 'Error');
}

/**
 * istioctl's text form: `Error [IST0101] (VirtualService default/reviews reviews.yaml:12) Referenced host
 * not found: "reviewz"`, with the field path added after the location.
 */
export function formatMessage(m: AnalysisMessage): string {
  const origin: string[] = [];
  if (m.resource) {
    const ns = m.resource.namespace ? `${m.resource.namespace}/` : '';
    origin.push(`${m.resource.kind} ${ns}${m.resource.name}`);
  }
  if (m.location?.file) origin.push(m.location.line === undefined ? m.location.file : `${m.location.file}:${m.location.line}`);
  if (m.field) origin.push(m.field);
  const where = origin.length ? ` (${origin.join(' ')})` : '';
  return `${m.type.level} [${m.type.code}]${where} ${m.message}`;
}

/** The `-o json` form: flat, stable field names. */
export function messageToJson(m: AnalysisMessage): Record<string, unknown> {
  return {
    code: m.type.code,
    name: m.type.name,
    level: m.type.level,
    message: m.message,
    kind: m.resource?.kind,
    namespace: m.resource?.namespace,
    resourceName: m.resource?.name,
    file: m.location?.file,
    line: m.location?.line,
    field: m.field,
  };
}

const LEVEL_ORDER: Record<Level, number> = { Error: 0, Warning: 1, Info: 2 };

/** Errors first, then by file and line, so output is stable across runs. */
export function sortMessages(messages: readonly AnalysisMessage[]): AnalysisMessage[] {
  return [...messages].sort(
    (a, b) =>
      LEVEL_ORDER[a.type.level] - LEVEL_ORDER[b.type.level] ||
      (a.location?.file ?? '').localeCompare(b.location?.file ?? '') ||
      (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
      a.type.code.localeCompare(b.type.code) ||
      a.message.localeCompare(b.message),
  );
}
