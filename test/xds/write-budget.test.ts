import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteBudget } from '../../src/xds/write-budget.js';

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
});
