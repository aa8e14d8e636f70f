/**
 * `sailfin apply` / `sailfin delete` on a running mesh, with kubectl's semantics over manifests that
 * live in the user's files: applied objects are kept in an overlay directory and replace the object of
 * the same kind/namespace/name from the files; deleted ones are listed in `deleted-objects.txt` and left out.
 * The files themselves are never rewritten.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { resourceKey, type LoadedResource } from '../config/resource.js';

// Not .json: the loader reads every .json/.yaml file in the directory as config.
const DELETED = 'deleted-objects.txt';

export function keyOf(r: LoadedResource): string {
  return resourceKey(r.resource.kind, r.resource.metadata.namespace ?? defaultNamespaceFor(r), r.resource.metadata.name);
}

function defaultNamespaceFor(r: LoadedResource): string | undefined {
  return r.resource.kind === 'Namespace' ? undefined : 'default';
}

function fileName(r: LoadedResource): string {
  return `${r.resource.kind}_${r.resource.metadata.namespace ?? 'default'}_${r.resource.metadata.name}.yaml`.replace(/[^A-Za-z0-9_.-]/g, '-');
}

export function readDeleted(dir: string): Set<string> {
  try {
    return new Set(JSON.parse(readFileSync(join(dir, DELETED), 'utf8')) as string[]);
  } catch {
    return new Set();
  }
}

function writeDeleted(dir: string, keys: Set<string>): void {
  writeFileSync(join(dir, `${DELETED}.tmp`), JSON.stringify([...keys].sort()));
  renameSync(join(dir, `${DELETED}.tmp`), join(dir, DELETED));
}

/** The config in force: the files' objects, replaced by applied ones, minus deleted ones. */
export function mergeOverlay(base: readonly LoadedResource[], overlay: readonly LoadedResource[], deleted: ReadonlySet<string>): LoadedResource[] {
  const applied = new Map(overlay.map((r) => [keyOf(r), r]));
  const out = base.filter((r) => !applied.has(keyOf(r)) && !deleted.has(keyOf(r)));
  for (const [k, r] of applied) if (!deleted.has(k)) out.push(r);
  return out;
}

/** Records applied objects (one file each, so a later apply replaces exactly that object). */
export function writeApplied(dir: string, objects: readonly LoadedResource[]): void {
  mkdirSync(dir, { recursive: true });
  const deleted = readDeleted(dir);
  for (const r of objects) {
    const tmp = join(dir, `.${fileName(r)}.tmp`);
    writeFileSync(tmp, stringify(r.resource));
    renameSync(tmp, join(dir, fileName(r)));
    deleted.delete(keyOf(r));
  }
  writeDeleted(dir, deleted);
}

/** Removes objects: drops their applied copy and hides any copy in the user's files. */
export function writeDeletions(dir: string, objects: readonly LoadedResource[]): void {
  mkdirSync(dir, { recursive: true });
  const deleted = readDeleted(dir);
  for (const r of objects) {
    const f = join(dir, fileName(r));
    if (existsSync(f)) rmSync(f);
    deleted.add(keyOf(r));
  }
  writeDeleted(dir, deleted);
}
