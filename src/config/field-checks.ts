/**
 * A small helper for rule files that check one object's fields: it reads values by path and records
 * IST0106 messages placed at the field's line, so each rule reads as a list of plain statements.
 */
import { isPlainObject } from './documents.js';
import { childPath, MessageTypes, resourceMessage, type AnalysisMessage } from './messages.js';
import type { LoadedResource } from './resource.js';

export class FieldChecks {
  readonly messages: AnalysisMessage[] = [];

  constructor(readonly loaded: LoadedResource) {}

  /** Records `Schema validation error: <field>: <problem>`. */
  error(field: string, problem: string): void {
    this.messages.push(resourceMessage(this.loaded, MessageTypes.SchemaValidationError, `Schema validation error: ${field}: ${problem}`, field));
  }

  /** The object's spec, or an empty one (a missing spec is reported by the rules that need fields in it). */
  spec(): Record<string, unknown> {
    return isPlainObject(this.loaded.resource.spec) ? this.loaded.resource.spec : {};
  }

  /** Reports a missing or empty required value; true when present. */
  required(field: string, value: unknown, what = 'is required'): boolean {
    const missing = value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
    if (missing) this.error(field, what);
    return !missing;
  }
}

/** The entries of a list field that are mappings, with their field paths (other entries are the schema's problem). */
export function objectItems(value: unknown, path: string): Array<{ item: Record<string, unknown>; path: string }> {
  if (!Array.isArray(value)) return [];
  const out: Array<{ item: Record<string, unknown>; path: string }> = [];
  value.forEach((item, i) => {
    if (isPlainObject(item)) out.push({ item, path: childPath(path, i) });
  });
  return out;
}

export function asObject(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}

export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPlainObject(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}
