/**
 * Reading a bootstrap file (YAML or JSON) and remembering the line of every field, so an error found
 * while compiling a listener or cluster much later still says `bootstrap.yaml:42: <field>: <problem>`.
 */
import { readFile } from 'node:fs/promises';
import { SailfinError } from '../../common/errors.js';
import { collectFieldLines, parseYaml } from '../../config/yaml-documents.js';
import { isObject, type JsonObject } from '../config/fields.js';

/** Bootstraps are small; a bigger file is a mistake (or an attack), not a config. */
const MAX_BOOTSTRAP_BYTES = 32 * 1024 * 1024;

export interface BootstrapSource {
  readonly file: string;
  readonly json: JsonObject;
  /** Line of a field path as the compilers name it (`static_resources.listeners[0].name`), or of its nearest parent. */
  lineOf(field: string): number | undefined;
}

/** Field paths from config/fields.ts use `.@type`; the YAML line map writes odd keys as `["@type"]`. */
function normalize(path: string): string {
  return path.replace(/\["([^"\]]*)"\]/g, '.$1');
}

function parentOf(path: string): string | undefined {
  const m = /^(.*)(\.[^.[\]]+|\[\d+\])$/.exec(path);
  return m ? m[1] : undefined;
}

export function parseBootstrapText(text: string, file: string): BootstrapSource {
  const parsed = parseYaml(text);
  if (parsed.problems.length > 0) {
    const p = parsed.problems[0];
    throw new SailfinError('yaml', p.message, { location: { file, line: p.line } });
  }
  if (parsed.documents.length !== 1) {
    throw new SailfinError('schema', `a bootstrap is one YAML/JSON document (found ${parsed.documents.length})`, { location: { file } });
  }
  const doc = parsed.documents[0];
  if (!isObject(doc.value)) throw new SailfinError('schema', 'the bootstrap must be a mapping (node, admin, static_resources, …)', { location: { file, line: doc.line } });
  const lines = new Map<string, number>();
  for (const [k, v] of collectFieldLines(doc.node, parsed.lineOf)) lines.set(normalize(k), v);
  return {
    file,
    json: doc.value as JsonObject,
    lineOf(field: string): number | undefined {
      let p: string | undefined = normalize(field);
      while (p) {
        const line = lines.get(p);
        if (line !== undefined) return line;
        p = parentOf(p);
      }
      return doc.line;
    },
  };
}

export async function readBootstrapFile(file: string): Promise<BootstrapSource> {
  let text: string;
  try {
    const buf = await readFile(file);
    if (buf.length > MAX_BOOTSTRAP_BYTES) throw new Error(`larger than ${MAX_BOOTSTRAP_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    throw new SailfinError('io', `cannot read the bootstrap: ${(err as Error).message}`, { location: { file } });
  }
  return parseBootstrapText(text, file);
}

/** Gives an error from a compiler the file and line of the field it names. */
export function locate(err: unknown, source: BootstrapSource | undefined): unknown {
  if (!source || !(err instanceof SailfinError) || err.location?.file) return err;
  const line = err.field ? source.lineOf(err.field) : undefined;
  return new SailfinError(err.kind, err.message, { field: err.field, location: { file: source.file, line }, cause: err.cause });
}
