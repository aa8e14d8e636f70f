import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

const run = promisify(execFile);
// dist/test/cli → repository root
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sailfin = join(root, 'bin', 'sailfin');

test('bin/sailfin prints its help and exits 0', async () => {
  const { stdout } = await run(sailfin, ['--help']);
  assert.match(stdout, /Usage: sailfin/);
});

test('bin/sailfin rejects an unknown command with a non-zero exit and no stack trace', async () => {
  await assert.rejects(run(sailfin, ['no-such-command']), (err: { code: number; stderr: string }) => {
    assert.notEqual(err.code, 0);
    assert.doesNotMatch(err.stderr, /at .*\.js:\d+/);
    return true;
  });
});
