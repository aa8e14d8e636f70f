/**
 * `sailfin apply -f PATH…` and `sailfin delete -f PATH…`: change the running local mesh's config the way
 * kubectl changes a cluster's. The change is validated with the analyzers against the whole config in
 * force and refused whole when any of its objects has an error; otherwise it is recorded (overlay.ts) and
 * the mesh picks it up within a second, as it does edits to the manifest files.
 */
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { analyzeResources } from '../analyze/runner.js';
import { SailfinError } from '../common/errors.js';
import { loadPaths } from '../config/loader.js';
import { formatMessage, hasErrors, type AnalysisMessage } from '../config/messages.js';
import type { LoadedResource } from '../config/resource.js';
import { keyOf, mergeOverlay, readDeleted, writeApplied, writeDeletions } from '../discovery/overlay.js';
import { overlayDir, runningMesh } from '../mesh/state.js';
import { withStateDir } from './state-option.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

async function load(paths: string[]): Promise<LoadedResource[]> {
  const r = await loadPaths(paths);
  if (hasErrors(r.messages)) throw new SailfinError('schema', `cannot read the manifests:\n${r.messages.map(formatMessage).join('\n')}`);
  return r.resources;
}

/** The config the running mesh has now: its manifest files, then what apply/delete recorded. */
async function configInForce(paths: string[], dir: string): Promise<LoadedResource[]> {
  mkdirSync(dir, { recursive: true });
  return mergeOverlay(await load(paths), await load([dir]), readDeleted(dir));
}

function label(r: LoadedResource): string {
  const group = r.resource.apiVersion.includes('/') ? `.${r.resource.apiVersion.split('/')[0]}` : '';
  return `${r.resource.kind.toLowerCase()}${group}/${r.resource.metadata.name}`;
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('apply')
      .description('add or change objects in the running local mesh (refused whole if the analyzer finds an error)')
      .requiredOption('-f, --filename <path>', 'manifest file or directory (repeatable)', collect, [] as string[]),
  ).action(async (opts: { filename: string[]; stateDir: string }) => {
    const state = runningMesh(opts.stateDir);
    const dir = overlayDir(opts.stateDir);
    const incoming = await load(opts.filename);
    const current = await configInForce(state.paths, dir);
    const candidate = mergeOverlay(current, incoming, new Set());
    const keys = new Set(incoming.map(keyOf));
    // Only findings about the applied objects block it; the rest of the mesh may have its own warnings.
    const mine = analyzeResources(candidate).filter((m: AnalysisMessage) => !m.resource || keys.has(`${m.resource.kind}/${m.resource.namespace ?? 'default'}/${m.resource.name}`) || !m.resource.namespace);
    for (const m of mine) process.stderr.write(`${formatMessage(m)}\n`);
    if (hasErrors(mine)) throw new SailfinError('semantic', 'the change was refused; the mesh keeps its current config');
    const before = new Map(current.map((r) => [keyOf(r), JSON.stringify(r.resource)]));
    writeApplied(dir, incoming);
    for (const r of incoming) {
      const old = before.get(keyOf(r));
      process.stdout.write(`${label(r)} ${old === undefined ? 'created' : old === JSON.stringify(r.resource) ? 'unchanged' : 'configured'}\n`);
    }
  });

  withStateDir(
    program
      .command('delete')
      .description('remove objects from the running local mesh')
      .requiredOption('-f, --filename <path>', 'manifest file or directory naming the objects (repeatable)', collect, [] as string[]),
  ).action(async (opts: { filename: string[]; stateDir: string }) => {
    const state = runningMesh(opts.stateDir);
    const dir = overlayDir(opts.stateDir);
    const targets = await load(opts.filename);
    const current = new Set((await configInForce(state.paths, dir)).map(keyOf));
    const missing = targets.filter((r) => !current.has(keyOf(r)));
    writeDeletions(dir, targets.filter((r) => current.has(keyOf(r))));
    for (const r of targets) process.stdout.write(`${label(r)} ${missing.includes(r) ? 'not found' : 'deleted'}\n`);
    if (missing.length) process.exitCode = 1;
  });
}
