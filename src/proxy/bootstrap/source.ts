/**
 * Reading a bootstrap file (YAML or JSON) and remembering the line of every field, so an error found
 * while compiling a listener or cluster much later still says `bootstrap.yaml:42: <field>: <problem>`.
 */
import { readFile } from 'node:fs/promises';
import { SailfinError } from '../../common/errors.js';
import { collectFieldLines, parseYaml, type YamlDocument } from '../../config/yaml-documents.js';
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
  const json = parseJsonFast(text) ?? parseYamlDocument(text, file).doc.value;
  if (!isObject(json)) throw new SailfinError('schema', 'the bootstrap must be a mapping (node, admin, static_resources, …)', { location: { file, line: 1 } });
  // The line of every field is only needed to word an error, and for a large bootstrap (a
  // 1,000-service mesh as a static config) the map of field paths and the YAML node tree cost over
  // 60 MB of heap kept for the proxy's whole life; so it is built from the text on first use.
  let lines: { map: Map<string, number>; docLine: number } | undefined;
  return {
    file,
    json: json as JsonObject,
    lineOf(field: string): number | undefined {
      lines ??= fieldLines(text, file);
      let p: string | undefined = normalize(field);
      while (p) {
        const line = lines.map.get(p);
        if (line !== undefined) return line;
        p = parentOf(p);
      }
      return lines.docLine;
    },
  };
}

/**
 * JSON.parse for a JSON bootstrap (what tools and the benchmark write): several times faster than
 * the YAML parser and without its transient node tree, which for a large file raised the heap,
 * and so the resident memory the process keeps, by over 100 MB. Anything it refuses (YAML, or
 * broken JSON) goes through the YAML parser, which names the line of the problem.
 */
function parseJsonFast(text: string): unknown {
  if (!/^\s*\{/.test(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function parseYamlDocument(text: string, file: string): { doc: YamlDocument; lineOf: (offset: number) => number } {
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
  return { doc, lineOf: parsed.lineOf };
}

function fieldLines(text: string, file: string): { map: Map<string, number>; docLine: number } {
  const { doc, lineOf } = parseYamlDocument(text, file);
  const map = new Map<string, number>();
  for (const [k, v] of collectFieldLines(doc.node, lineOf)) map.set(normalize(k), v);
  return { map, docLine: doc.line };
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
