#!/usr/bin/env node
// Builds native/ (the SO_ORIGINAL_DST + MSG_PEEK addon) at install time.
// It never fails the install: without the addon Sailfin still runs (explicit-proxy mode, no iptables
// capture), and src/runtime/original-dst.ts explains why capture is unavailable. So any failure here
// prints one warning line and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');

function warn(reason) {
  process.stderr.write(`sailfin: native addon not built (${reason}); iptables capture disabled, explicit proxy mode still works\n`);
  process.exit(0);
}

if (process.platform !== 'linux') warn(`SO_ORIGINAL_DST is Linux-only, this is ${process.platform}`);
if (process.env.SAILFIN_SKIP_NATIVE) warn('SAILFIN_SKIP_NATIVE is set');

// node-gyp ships inside npm; find it next to the npm that runs this script, or next to node.
const candidates = [
  process.env.npm_config_node_gyp,
  process.env.npm_execpath && join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter(Boolean);
const nodeGyp = candidates.find((p) => existsSync(p));
if (!nodeGyp) warn('node-gyp not found (it ships with npm)');

const args = [nodeGyp, 'rebuild'];
// Use local headers when npm has not said where they are (npm passes its nodedir setting as
// npm_config_nodedir) and the distribution installed them, so the build needs no download.
if (!process.env.npm_config_nodedir) {
  const prefix = join(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
}

const result = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8', timeout: 300_000 });
if (result.error) warn(result.error.message);
if (result.status !== 0) {
  const lines = `${result.stderr ?? ''}\n${result.stdout ?? ''}`.split('\n').map((l) => l.trim());
  // Prefer the line that says what went wrong (a compiler error or node-gyp's "stack Error:").
  const firstError =
    lines.find((l) => /error:/i.test(l) && !/^gyp (info|ERR! (stack|configure|build) error)/.test(l)) ??
    lines.find((l) => /^gyp ERR! stack Error:/.test(l))?.replace(/^gyp ERR! stack /, '') ??
    `node-gyp exited with ${result.status}`;
  warn(firstError.slice(0, 200));
}
