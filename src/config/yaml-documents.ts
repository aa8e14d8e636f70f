/**
 * Multi-document YAML (and JSON, which the same parser reads) with the line of every field, so a
 * problem found much later — a missing subset, a bad weight — can name the exact line the user wrote.
 */
import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments, type Node } from 'yaml';
import { childPath } from './messages.js';

export interface YamlDocument {
  /** 0-based position of the document in the file. */
  readonly index: number;
  /** 1-based line where the document's content starts. */
  readonly line: number;
  /** The document as plain JavaScript data. */
  readonly value: unknown;
  /** The parsed node, for collecting field lines of the whole document or of a part of it. */
  readonly node: Node | null;
}

export interface YamlProblem {
  readonly message: string;
  readonly line?: number;
  readonly document: number;
}

export interface ParsedYaml {
  readonly documents: YamlDocument[];
  readonly problems: YamlProblem[];
  readonly lineOf: (offset: number) => number;
}

/** Aliases are expanded when converting to JS; cap them so a "billion laughs" file cannot exhaust memory. */
const MAX_ALIAS_COUNT = 1000;
/** YAML errors reported per file. */
const MAX_PROBLEMS = 10;

export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const lineOf = (offset: number): number => lineCounter.linePos(offset).line;
  const documents: YamlDocument[] = [];
  const problems: YamlProblem[] = [];
  // `yaml` returns an EmptyStream (no documents) for empty input; iterate either way.
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  let index = 0;
  let dropped = 0;
  for (const doc of parsed) {
    const docIndex = index++;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        // One broken bracket can make the parser report an error per following token; the first few say it all.
        if (problems.length >= MAX_PROBLEMS) dropped++;
        else problems.push({ message: firstLine(err.message), line: err.linePos?.[0]?.line ?? lineOf(err.pos[0]), document: docIndex });
      }
      continue;
    }
    const node = (doc.contents ?? null) as Node | null;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      problems.push({ message: firstLine((err as Error).message), line: node?.range ? lineOf(node.range[0]) : undefined, document: docIndex });
      continue;
    }
    const line = node?.range ? lineOf(node.range[0]) : lineOf(doc.range[0]);
    documents.push({ index: docIndex, line, value, node });
  }
  if (dropped > 0) problems.push({ message: `${dropped} more YAML errors not shown`, document: index - 1 });
  return { documents, problems, lineOf };
}

function firstLine(message: string): string {
  const nl = message.indexOf('\n');
  return nl < 0 ? message : message.slice(0, nl);
}

/**
 * Line of every field path under `node`, e.g. `spec.http[0].route[1].weight` → 23. Iterative, so a
 * deeply nested document cannot overflow the stack.
 */
export function collectFieldLines(node: Node | null, lineOf: (offset: number) => number): Map<string, number> {
  const lines = new Map<string, number>();
  if (!node) return lines;
  const stack: Array<{ node: unknown; path: string }> = [{ node, path: '' }];
  while (stack.length > 0) {
    const { node: current, path } = stack.pop()!;
    if (isMap(current)) {
      for (const pair of current.items) {
        const keyNode = pair.key as Node | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const fieldPath = childPath(path, key);
        const at = keyNode?.range?.[0];
        if (at !== undefined) lines.set(fieldPath, lineOf(at));
        if (pair.value) stack.push({ node: pair.value, path: fieldPath });
      }
    } else if (isSeq(current)) {
      current.items.forEach((item, i) => {
        const fieldPath = childPath(path, i);
        const at = (item as Node | null)?.range?.[0];
        if (at !== undefined) lines.set(fieldPath, lineOf(at));
        if (item) stack.push({ node: item, path: fieldPath });
      });
    }
  }
  return lines;
}

/** The node of `items[i]` in a List document, so each item gets its own field lines. */
export function listItemNodes(node: Node | null): Array<Node | null> {
  if (!isMap(node)) return [];
  const items = node.get('items', true);
  return isSeq(items) ? items.items.map((n) => (n ?? null) as Node | null) : [];
}
