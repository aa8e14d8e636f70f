import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { SettledGc } from '../../../src/proxy/bootstrap/settled-gc.js';

/** Polls until `cond` holds or `ms` pass: a loaded machine may run a timer late, never early. */
async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond() && Date.now() < until) await sleep(10);
}

/** A large array lives in large-object space, which only a full collection frees. */
function garbage(): WeakRef<number[]> {
  const big = new Array<number>(400_000).fill(1);
  return new WeakRef(big);
}

test('SettledGc collects once the config has been quiet, and frees what only a full GC frees', async () => {
  const gc = new SettledGc({ quietMs: 50, minGrowthBytes: 0, maxBusy: 0.5 });
  try {
    const ref = garbage();
    gc.touch();
    await waitFor(() => gc.runs > 0);
    assert.equal(gc.runs, 1);
    assert.equal(ref.deref(), undefined);
  } finally {
    gc.close();
  }
});

test('SettledGc waits for the quiet period to end: touches inside it postpone the collection', async () => {
  // A quiet period far longer than the gaps between touches, so a slow scheduler cannot end it early.
  const gc = new SettledGc({ quietMs: 600, minGrowthBytes: 0, maxBusy: 0.5 });
  try {
    for (let i = 0; i < 4; i++) {
      gc.touch();
      await sleep(50);
    }
    assert.equal(gc.runs, 0, 'still inside the quiet period');
    await waitFor(() => gc.runs > 0);
    assert.equal(gc.runs, 1);
  } finally {
    gc.close();
  }
});

test('SettledGc skips the collection when the heap has not grown enough, and close() cancels it', async () => {
  // Never counted busy (maxBusy 1), so only the growth check can keep it from collecting.
  const small = new SettledGc({ quietMs: 30, minGrowthBytes: 1 << 30, maxBusy: 1 });
  small.touch();
  await sleep(150);
  assert.equal(small.skips, 0);
  assert.equal(small.runs, 0);
  small.close();
  const closed = new SettledGc({ quietMs: 30, minGrowthBytes: 0, maxBusy: 0.5 });
  closed.touch();
  closed.close();
  await sleep(150);
  assert.equal(closed.runs, 0);
});

test('SettledGc puts the collection off while the event loop is busy and collects in the next idle period', async () => {
  // The short test periods carry the test runner's own work, so the bar is set well above the default.
  const busy = new SettledGc({ quietMs: 100, minGrowthBytes: 0, maxBusy: 0.5 });
  try {
    busy.touch();
    // Traffic stands in as a synchronous spin past the end of the quiet period: the timer fires
    // right after it, with the loop busy nearly all of the period however loaded the machine is.
    const until = Date.now() + 150;
    while (Date.now() < until);
    // Nothing touches it again: the put-off period is retried by itself, and that one is idle.
    await waitFor(() => busy.runs > 0);
    assert.ok(busy.skips >= 1, 'the busy period was put off, not collected');
    assert.equal(busy.runs, 1);
  } finally {
    busy.close();
  }
});
