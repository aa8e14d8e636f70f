import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { SettledGc } from '../../../src/proxy/bootstrap/settled-gc.js';

/** A large array lives in large-object space, which only a full collection frees. */
function garbage(): WeakRef<number[]> {
  const big = new Array<number>(400_000).fill(1);
  return new WeakRef(big);
}

test('SettledGc collects once the config has been quiet, and frees what only a full GC frees', async () => {
  const gc = new SettledGc({ quietMs: 50, minGrowthBytes: 0 });
  try {
    const ref = garbage();
    gc.touch();
    await sleep(300);
    assert.equal(gc.runs, 1);
    assert.equal(ref.deref(), undefined);
  } finally {
    gc.close();
  }
});

test('SettledGc waits for the quiet period to end: touches inside it postpone the collection', async () => {
  const gc = new SettledGc({ quietMs: 150, minGrowthBytes: 0 });
  try {
    for (let i = 0; i < 4; i++) {
      gc.touch();
      await sleep(60);
    }
    assert.equal(gc.runs, 0, 'still inside the quiet period');
    await sleep(300);
    assert.equal(gc.runs, 1);
  } finally {
    gc.close();
  }
});

test('SettledGc skips the collection when the heap has not grown enough, and close() cancels it', async () => {
  const small = new SettledGc({ quietMs: 30, minGrowthBytes: 1 << 30 });
  small.touch();
  await sleep(150);
  assert.equal(small.runs, 0);
  small.close();
  const closed = new SettledGc({ quietMs: 30, minGrowthBytes: 0 });
  closed.touch();
  closed.close();
  await sleep(150);
  assert.equal(closed.runs, 0);
});
