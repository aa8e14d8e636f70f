import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize } from '../../bench/cpu-profile-summary.js';

const summaryScript = fileURLToPath(new URL('../../bench/cpu-profile-summary.js', import.meta.url));

test('a real --cpu-prof profile names the function that burned the CPU and its layer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-prof-'));
  try {
    // The busy function lives under a src/ directory, which is how the summary recognises Sailfin's code.
    mkdirSync(join(dir, 'src'));
    const script = join(dir, 'src', 'spin.mjs');
    writeFileSync(
      script,
      'function spinHard(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; }\n' +
        'spinHard(400);\n',
    );
    execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, script]);
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    assert.equal(files.length, 1);
    const profile = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8'));
    const summary = summarize([profile]);
    const top = summary.functions[0]!;
    assert.match(top.name, /^spinHard .*src\/spin\.mjs:1$/);
    assert.equal(top.layer, 'sailfin');
    // Most of the busy time is the spin; Date.now and startup take the rest.
    assert.ok((summary.layers.get('sailfin') ?? 0) > summary.busyMicros * 0.4, JSON.stringify([...summary.layers]));
    const printed = execFileSync(process.execPath, [summaryScript, dir, '--top', '3'], { encoding: 'utf8' });
    assert.match(printed, /^1 profile\(s\)\n/);
    assert.match(printed, /share of busy time by layer:\n +\d+\.\d% +sailfin/);
    assert.match(printed, /top 3 functions by self time:\n +\d+\.\d% +spinHard /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the summary refuses to run without any profile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-prof-'));
  try {
    assert.throws(
      () => execFileSync(process.execPath, [summaryScript, dir], { encoding: 'utf8', stdio: 'pipe' }),
      (err: { status?: number; stderr?: string }) => err.status === 2 && /no \.cpuprofile found/.test(err.stderr ?? ''),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
