import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SailfinError } from '../../src/common/errors.js';
import { WriteBudget, writeBudgetBytes } from '../../src/xds/write-budget.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');

describe('xds: write budget', () => {
  it('holds writes beyond the cap until earlier ones complete, in order; an oversized one goes alone', async () => {
    const budget = new WriteBudget(100);
    const order: string[] = [];
    const a = await budget.acquire(60);
    const b = budget.acquire(60).then((r) => (order.push('b'), r));
    const c = budget.acquire(10).then((r) => (order.push('c'), r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, [], 'b does not fit; c waits behind b');
    assert.equal(budget.bytesInFlight, 60);
    a();
    a(); // releasing twice frees once
    const rb = await b;
    const rc = await c;
    assert.deepEqual(order, ['b', 'c']);
    assert.equal(budget.bytesInFlight, 70);
    rb();
    rc();
    assert.equal(budget.bytesInFlight, 0);
    const big = await budget.acquire(500);
    assert.equal(budget.bytesInFlight, 500);
    big();
  });

  it('takes its size from SAILFIN_XDS_WRITE_BUDGET_MB and refuses a value that is not a positive number', () => {
    assert.equal(writeBudgetBytes({}), 16 * 1024 * 1024);
    assert.equal(writeBudgetBytes({ SAILFIN_XDS_WRITE_BUDGET_MB: '' }), 16 * 1024 * 1024);
    assert.equal(writeBudgetBytes({ SAILFIN_XDS_WRITE_BUDGET_MB: '64' }), 64 * 1024 * 1024);
    assert.equal(writeBudgetBytes({ SAILFIN_XDS_WRITE_BUDGET_MB: '0.5' }), 512 * 1024);
    for (const bad of ['lots', '0', '-4', '16MB', 'Infinity']) {
      assert.throws(() => writeBudgetBytes({ SAILFIN_XDS_WRITE_BUDGET_MB: bad }), (err: unknown) => {
        assert.ok(err instanceof SailfinError);
        assert.equal(err.field, 'SAILFIN_XDS_WRITE_BUDGET_MB');
        assert.match(err.message, new RegExp(`"${bad}" is not a positive number of megabytes`));
        return true;
      }, bad);
    }
  });

  it('sailfin discovery stops at a bad SAILFIN_XDS_WRITE_BUDGET_MB with a message naming it, no stack trace', async () => {
    const file = join(root, 'samples', 'bookinfo', 'networking', 'destination-rule-all.yaml');
    const args = ['discovery', '-f', file, '--host', '127.0.0.1', '--port', '0', '--monitoring-port', '0'];
    const env = { ...process.env, SAILFIN_XDS_WRITE_BUDGET_MB: 'lots' };
    await assert.rejects(promisify(execFile)(join(root, 'bin', 'sailfin'), args, { env, timeout: 30_000 }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /^sailfin: SAILFIN_XDS_WRITE_BUDGET_MB: "lots" is not a positive number/);
      assert.doesNotMatch(err.stderr, /\n\s+at /);
      return true;
    });
  });
});
