/**
 * RFC 6902 JSON Patch, as much as admission needs: `createPatch` turns the injected pod into the
 * operations the API server applies to the original (add/remove/replace; a changed array that is not
 * a pure append is replaced whole, which keeps the patch correct without a list-diff algorithm), and
 * `applyPatch` applies add/remove/replace/test, for `sailfin inject` checks and for tests.
 */
export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** RFC 6901: `~` and `/` inside a key (annotation names have slashes) are escaped. */
export function pointerToken(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function diff(a: unknown, b: unknown, path: string, ops: JsonPatchOp[]): void {
  if (equal(a, b)) return;
  if (isObject(a) && isObject(b)) {
    for (const key of Object.keys(a)) if (!(key in b)) ops.push({ op: 'remove', path: `${path}/${pointerToken(key)}` });
    for (const [key, value] of Object.entries(b)) {
      const p = `${path}/${pointerToken(key)}`;
      if (!(key in a)) ops.push({ op: 'add', path: p, value });
      else diff(a[key], value, p, ops);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && b.length >= a.length && a.every((v, i) => equal(v, b[i]))) {
    for (let i = a.length; i < b.length; i++) ops.push({ op: 'add', path: `${path}/${i}`, value: b[i] });
    return;
  }
  ops.push({ op: 'replace', path, value: b });
}

export function createPatch(original: unknown, modified: unknown): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  diff(original, modified, '', ops);
  return ops;
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`JSON pointer "${path}" does not start with /`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Applies `ops` to a copy of `doc`; throws on a path that does not exist or a failed test. */
export function applyPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  let root: unknown = structuredClone(doc);
  for (const op of ops) {
    const tokens = parsePointer(op.path);
    if (tokens.length === 0) {
      if (op.op === 'test') {
        if (!equal(root, op.value)) throw new Error('test failed at the document root');
      } else if (op.op === 'remove') throw new Error('cannot remove the document root');
      else root = structuredClone(op.value);
      continue;
    }
    let parent: unknown = root;
    for (const t of tokens.slice(0, -1)) {
      parent = Array.isArray(parent) ? parent[Number(t)] : isObject(parent) ? parent[t] : undefined;
      if (parent === undefined) throw new Error(`path ${op.path} does not exist`);
    }
    const last = tokens[tokens.length - 1];
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length || (op.op !== 'add' && index >= parent.length)) throw new Error(`index ${last} is out of range at ${op.path}`);
      if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value));
      else if (op.op === 'replace') parent[index] = structuredClone(op.value);
      else if (op.op === 'remove') parent.splice(index, 1);
      else if (!equal(parent[index], op.value)) throw new Error(`test failed at ${op.path}`);
    } else if (isObject(parent)) {
      if (op.op !== 'add' && !(last in parent)) throw new Error(`path ${op.path} does not exist`);
      if (op.op === 'add' || op.op === 'replace') parent[last] = structuredClone(op.value);
      else if (op.op === 'remove') delete parent[last];
      else if (!equal(parent[last], op.value)) throw new Error(`test failed at ${op.path}`);
    } else {
      throw new Error(`path ${op.path} does not exist`);
    }
  }
  return root as T;
}
