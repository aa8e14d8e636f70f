/**
 * Errors are values with a kind, a message for humans, and the place they came from, so every
 * component can report bad input as "file:line: field: what is wrong" without a stack trace.
 */
export interface SourceLocation {
  file?: string;
  line?: number;
  column?: number;
}

export type ErrorKind =
  | 'yaml' // the text is not valid YAML/JSON
  | 'schema' // a field has the wrong type, is unknown, or a required one is missing
  | 'semantic' // well-formed but contradicts other config or Istio's rules
  | 'unsupported' // a valid Envoy/Istio field Sailfin does not implement
  | 'io' // a file or directory could not be read
  | 'runtime'; // something failed while running (bind, spawn, …)

export class SailfinError extends Error {
  readonly kind: ErrorKind;
  readonly location?: SourceLocation;
  /** Dotted path of the offending field, e.g. `spec.http[0].route[1].weight`. */
  readonly field?: string;

  constructor(kind: ErrorKind, message: string, opts: { location?: SourceLocation; field?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SailfinError';
    this.kind = kind;
    this.location = opts.location;
    this.field = opts.field;
  }

  /** `file:line: field: message`, leaving out the parts that are unknown. */
  describe(): string {
    const where = formatLocation(this.location);
    const parts = [where, this.field, this.message].filter((p): p is string => !!p);
    return parts.join(': ');
  }
}

export function formatLocation(loc: SourceLocation | undefined): string | undefined {
  if (!loc?.file) return undefined;
  if (loc.line === undefined) return loc.file;
  return loc.column === undefined ? `${loc.file}:${loc.line}` : `${loc.file}:${loc.line}:${loc.column}`;
}

/** Message for any thrown value, without a stack trace. */
export function errorMessage(err: unknown): string {
  if (err instanceof SailfinError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}
