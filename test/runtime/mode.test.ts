/**
 * Choosing netns or explicit mode from what the machine allows, each check run in a fresh process
 * (the addon is loaded once per process) with the condition really absent: a missing addon file, a
 * non-root UID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { distRoot, netnsSkipReason } from './netns-fixture.js';

const modeUrl = pathToFileURL(join(distRoot, 'src', 'runtime', 'mode.js')).href;

function decide(requested: string, opts: { env?: Record<string, string>; uid?: number } = {}): { mode?: string; reasons?: string[]; error?: string } {
  const script = `import { decideMode } from ${JSON.stringify(modeUrl)};
try { console.log(JSON.stringify(decideMode(${JSON.stringify(requested)}))); } catch (e) { console.log(JSON.stringify({ error: e.describe() })); }`;
  const prefix = opts.uid === undefined ? [] : ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups'];
  const argv = [...prefix, process.execPath, '--input-type=module', '-e', script];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...opts.env }, timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('explicit is honoured as asked, without probing the machine', () => {
  assert.deepEqual(decide('explicit'), { mode: 'explicit', reasons: [] });
});

test('auto picks netns where namespaces, iptables and the addon are all available', { skip: netnsSkipReason(true) }, () => {
  assert.deepEqual(decide('auto'), { mode: 'netns', reasons: [] });
});

test('without the addon, auto falls back to explicit and says why; netns is refused with the reason', () => {
  const env = { SAILFIN_NATIVE_ADDON: '/nonexistent/original_dst.node' };
  const auto = decide('auto', { env });
  assert.equal(auto.mode, 'explicit');
  assert.ok(auto.reasons!.some((r) => /native addon is not built/.test(r)), auto.reasons!.join('; '));
  assert.match(decide('netns', { env }).error!, /^--mode: --mode netns is not possible here: .*native addon/);
});

test('as a non-root user, auto falls back to explicit naming root', { skip: process.getuid?.() !== 0 ? 'needs root to drop to another UID' : undefined }, () => {
  const auto = decide('auto', { uid: 1337 });
  assert.equal(auto.mode, 'explicit');
  assert.ok(auto.reasons!.some((r) => /needs root/.test(r)), auto.reasons!.join('; '));
});
