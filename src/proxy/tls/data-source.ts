/**
 * Envoy's DataSource (`inline_string`, `inline_bytes`, `filename`), read when config is compiled.
 */
import { readFileSync } from 'node:fs';
import { assertKnownFields, configError, join, type JsonObject } from '../config/fields.js';

export function readDataSource(json: JsonObject, path: string): string {
  assertKnownFields(json, ['inline_string', 'inline_bytes', 'filename', 'environment_variable'], path);
  if (typeof json.inline_string === 'string') return json.inline_string;
  if (typeof json.inline_bytes === 'string') return Buffer.from(json.inline_bytes, 'base64').toString('utf8');
  if (typeof json.filename === 'string') {
    try {
      return readFileSync(json.filename, 'utf8');
    } catch (err) {
      throw configError(join(path, 'filename'), `cannot read ${json.filename}: ${(err as Error).message}`);
    }
  }
  if (typeof json.environment_variable === 'string') {
    const v = process.env[json.environment_variable];
    if (v === undefined) throw configError(join(path, 'environment_variable'), `${json.environment_variable} is not set`);
    return v;
  }
  throw configError(path, 'needs one of inline_string, inline_bytes, filename');
}
