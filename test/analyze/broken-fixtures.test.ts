/**
 * Runs the real `sailfin analyze` process over test/fixtures/analyze/broken/, a directory of
 * deliberately broken configs, and checks it prints exactly the lines in expected.txt (each one
 * reviewed by hand), exits 1, and agrees with its own JSON output.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyze, repoRoot } from './run-cli.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'analyze', 'broken');
const expected = readFileSync(join(fixtures, 'expected.txt'), 'utf8').trim().split('\n');

describe('sailfin analyze on broken configs', () => {
  it('prints every expected message and nothing else, and exits 1', async () => {
    const run = await analyze(['-f', '.'], fixtures);
    assert.equal(run.code, 1, run.stderr);
    const actual = run.stdout.trim().split('\n');
    const missing = expected.filter((line) => !actual.includes(line));
    const unexpected = actual.filter((line) => !expected.includes(line));
    assert.deepEqual({ missing, unexpected }, { missing: [], unexpected: [] });
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    // The cases the issue names, each present:
    for (const code of ['IST0101', 'IST0106', 'IST0109', 'IST0118', 'IST0173', 'IST0145', 'IST0132', 'IST0104', 'IST0127', 'SFN0002', 'SFN0003', 'SFN0004', 'SFN0006']) {
      assert.ok(actual.some((l) => l.includes(`[${code}]`)), `${code} reported`);
    }
  });

  it('gives the same findings as JSON with kind, name, file, line and field', async () => {
    const run = await analyze(['-f', '.', '-o', 'json'], fixtures);
    assert.equal(run.code, 1);
    const messages = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    assert.equal(messages.length, expected.length);
    const host = messages.find((m) => m.code === 'IST0101' && m.file === 'vs-missing-host.yaml');
    assert.deepEqual(host, {
      code: 'IST0101',
      name: 'ReferencedResourceNotFound',
      level: 'Error',
      message: 'Referenced host not found: "reviewz"',
      kind: 'VirtualService',
      namespace: 'default',
      resourceName: 'typo',
      file: 'vs-missing-host.yaml',
      line: 9,
      field: 'spec.http[0].route[0].destination.host',
    });
  });

  it('reads manifests from standard input with -f -', async () => {
    const run = await analyze(['-f', '00-platform.yaml', '-f', '-'], fixtures, readFileSync(join(fixtures, 'vs-missing-host.yaml'), 'utf8'));
    assert.equal(run.code, 1);
    assert.equal(run.stdout, 'Error [IST0101] (VirtualService default/typo <stdin>:9 spec.http[0].route[0].destination.host) Referenced host not found: "reviewz"\n');
  });

  it('exits 0 with the istioctl-style notice when the config is clean', async () => {
    const run = await analyze(['-f', '00-platform.yaml'], fixtures);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.stdout, '\u2714 No validation issues found when analyzing 1 file.\n');
  });
});
