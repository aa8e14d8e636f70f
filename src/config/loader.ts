/**
 * Loads resources from files and directories the way `kubectl apply -R -f` reads them: directories
 * recursively, in sorted order, taking *.yaml, *.yml and *.json. Limits on file size and file count
 * turn a mistaken path (a dump, a home directory) into a clear message instead of an exhausted process;
 * everything is linear in the input size.
 */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseConfigText, type ParsedFile } from './documents.js';
import { MessageTypes, type AnalysisMessage } from './messages.js';
import { resourceKey, type LoadedResource } from './resource.js';

/**
 * Parse results of earlier loads by file, so a reload re-parses only files whose text changed and hands
 * back the very same resource objects for the others (the store then skips them by identity, and
 * validation results cached per object stay valid). Keep one per watched set of paths.
 */
export class ParseCache {
  private files = new Map<string, { text: string; parsed: ParsedFile }>();
  /** Files parsed (not served from the cache) by the last load; for tests and logs. */
  parsedFiles: string[] = [];

  parse(file: string, text: string, used: Set<string>): ParsedFile {
    used.add(file);
    const hit = this.files.get(file);
    if (hit && hit.text === text) return hit.parsed;
    const parsed = parseConfigText(text, file);
    this.files.set(file, { text, parsed });
    this.parsedFiles.push(file);
    return parsed;
  }

  /** Drops files the last load did not see (deleted, or no longer under the paths). */
  retain(used: ReadonlySet<string>): void {
    for (const file of [...this.files.keys()]) if (!used.has(file)) this.files.delete(file);
  }
}

export interface LoadOptions {
  /** Reuse the parse of files whose text is unchanged since the load that filled this cache. */
  cache?: ParseCache;
  /** Largest single file accepted, in bytes. Kubernetes itself caps an object at 1.5 MiB. */
  maxFileBytes?: number;
  /** Most config files accepted in one load. */
  maxFiles?: number;
}

export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_FILES = 20_000;

export interface LoadResult {
  resources: LoadedResource[];
  messages: AnalysisMessage[];
  /** Every file that was read, in order. */
  files: string[];
}

const CONFIG_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export async function loadPaths(paths: readonly string[], options: LoadOptions = {}): Promise<LoadResult> {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
  const result: LoadResult = { resources: [], messages: [], files: [] };
  const files: string[] = [];
  for (const path of paths) {
    const found = await listConfigFiles(path, result.messages);
    files.push(...found);
    if (files.length > maxFiles) {
      result.messages.push(fileError(path, `more than ${maxFiles} config files to load (found at least ${files.length}); point -f at a smaller directory or raise the limit`));
      return result;
    }
  }
  const texts: Array<{ file: string; text: string }> = [];
  for (const file of files) {
    const text = await readConfigFile(file, maxFileBytes, result.messages);
    if (text !== undefined) texts.push({ file, text });
  }
  if (options.cache) options.cache.parsedFiles = [];
  const loaded = loadTexts(texts, options.cache);
  result.resources = loaded.resources;
  result.messages.push(...loaded.messages);
  result.files = texts.map((t) => t.file);
  return result;
}

/** Parses already-read texts (also used by `apply` and the store's tests) and rejects duplicates. */
export function loadTexts(texts: ReadonlyArray<{ file: string; text: string }>, cache?: ParseCache): { resources: LoadedResource[]; messages: AnalysisMessage[] } {
  const resources: LoadedResource[] = [];
  const messages: AnalysisMessage[] = [];
  const seen = new Map<string, LoadedResource>();
  const used = new Set<string>();
  for (const { file, text } of texts) {
    let parsed;
    try {
      parsed = cache ? cache.parse(file, text, used) : parseConfigText(text, file);
    } catch (err) {
      // e.g. nesting so deep the parser runs out of stack: still one clear message for this file
      messages.push({ type: MessageTypes.YamlSyntaxError, message: `cannot parse: ${(err as Error)?.message ?? String(err)}`, location: { file } });
      continue;
    }
    messages.push(...parsed.messages);
    for (const loaded of parsed.resources) {
      const { kind, metadata } = loaded.resource;
      const key = resourceKey(kind, metadata.namespace, metadata.name);
      const first = seen.get(key);
      if (first) {
        messages.push({
          type: MessageTypes.DuplicateResource,
          message: `${kind} ${metadata.namespace ? `${metadata.namespace}/` : ''}${metadata.name} is defined twice: at ${where(first)} and at ${where(loaded)}`,
          resource: { kind, namespace: metadata.namespace, name: metadata.name },
          location: { file: loaded.source.file, line: loaded.source.line },
        });
        continue;
      }
      seen.set(key, loaded);
      resources.push(loaded);
    }
  }
  cache?.retain(used);
  return { resources, messages };
}

function where(loaded: LoadedResource): string {
  return `${loaded.source.file}:${loaded.source.line ?? 1}`;
}

async function listConfigFiles(path: string, messages: AnalysisMessage[]): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    messages.push(fileError(path, describeFsError(err)));
    return [];
  }
  // A file named explicitly is read whatever its extension; directories contribute config files only.
  if (!info.isDirectory()) return [path];
  const out: string[] = [];
  const visited = new Set<string>();
  await walkDirectory(path, out, visited, messages);
  return out;
}

async function walkDirectory(dir: string, out: string[], visited: Set<string>, messages: AnalysisMessage[]): Promise<void> {
  let real: string;
  try {
    real = await realpath(dir);
  } catch (err) {
    messages.push(fileError(dir, describeFsError(err)));
    return;
  }
  if (visited.has(real)) return; // a symlink loop
  visited.add(real);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    messages.push(fileError(dir, describeFsError(err)));
    return;
  }
  const names = entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of names) {
    const path = join(dir, entry.name);
    let isDir = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      try {
        isDir = (await stat(path)).isDirectory();
      } catch {
        continue; // a dangling link is not a config file
      }
    }
    if (isDir) await walkDirectory(path, out, visited, messages);
    else if (CONFIG_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(path);
  }
}

async function readConfigFile(file: string, maxBytes: number, messages: AnalysisMessage[]): Promise<string | undefined> {
  try {
    const info = await stat(file);
    if (info.size > maxBytes) {
      messages.push(fileError(file, `file is ${mebibytes(info.size)}, larger than the ${mebibytes(maxBytes)} limit for one config file`));
      return undefined;
    }
    return await readFile(file, 'utf8');
  } catch (err) {
    messages.push(fileError(file, describeFsError(err)));
    return undefined;
  }
}

function mebibytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

function fileError(file: string, message: string): AnalysisMessage {
  return { type: MessageTypes.FileError, message, location: { file } };
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    default:
      return `cannot read: ${(err as Error)?.message ?? String(err)}`;
  }
}
