#!/usr/bin/env node
// Runs the compiled test files with Node's own test runner.
// Usage: node scripts/run-tests.mjs [substring…]   (only files whose path contains one of them)
// Node 20's runner takes no globs, so the file list is gathered here.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const testRoot = join(root, 'dist', 'test');
const filters = process.argv.slice(2);

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = collect(testRoot, [])
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(' ') || '(all)'} under ${testRoot}`);
  process.exit(1);
}
// Per test (each file counts as one): generous because the end-to-end files start a whole mesh;
// every test still sets tighter timeouts of its own where a hang is possible.
const args = ['--enable-source-maps', '--test', '--test-concurrency=2', '--test-timeout=480000', ...files];
const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: root });
child.on('exit', (code, signal) => process.exit(signal ? 1 : code ?? 1));
