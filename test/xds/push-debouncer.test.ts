import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PushDebouncer, mergePush, type MergedPush } from '../../src/xds/push-debouncer.js';
import type { ConnectedProxy } from '../../src/xds/generator.js';
import { TypeUrl } from '../../src/xds/protos.js';

const proxy = (id: string): ConnectedProxy => ({ id }) as ConnectedProxy;

test('merging push requests: types unite (absent = all), proxy filters OR (absent = all), reasons listed once', () => {
  let m = mergePush(undefined, { reason: 'endpoint', types: [TypeUrl.ClusterLoadAssignment], proxies: (p) => p.id === 'a' });
  m = mergePush(m, { reason: 'endpoint', types: [TypeUrl.Cluster], proxies: (p) => p.id === 'b' });
  assert.deepEqual([...m.types!].sort(), [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment].sort());
  assert.deepEqual(['a', 'b', 'c'].map((id) => m.proxies!(proxy(id))), [true, true, false]);
  assert.deepEqual(m.reasons, ['endpoint']);
  m = mergePush(m, { reason: 'config' });
  assert.equal(m.types, undefined);
  assert.equal(m.proxies, undefined);
  assert.deepEqual(m.reasons, ['endpoint', 'config']);
  assert.equal(m.requests, 3);
});

test('a burst fires once after the quiet period; a request stream that never pauses fires at the max delay', async () => {
  const fired: Array<{ at: number; push: MergedPush }> = [];
  const start = Date.now();
  const debouncer = new PushDebouncer({ quietMs: 60, maxDelayMs: 250 }, (push) => fired.push({ at: Date.now() - start, push }));
  for (let i = 0; i < 5; i++) {
    debouncer.request({ reason: 'config' });
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(fired.length, 1);
  assert.equal(fired[0].push.requests, 5);

  fired.length = 0;
  const second = Date.now();
  // Every 30 ms, under the 60 ms quiet period, for 500 ms: without a max it would never fire.
  while (Date.now() - second < 500) {
    debouncer.request({ reason: 'endpoint' });
    await new Promise((r) => setTimeout(r, 30));
  }
  const loopEnded = Date.now() - start;
  debouncer.close();
  assert.ok(fired.length >= 1, 'fired while requests kept coming');
  assert.ok(fired[0].at < loopEnded, 'the first fire came before the requests stopped');
  const firstAt = fired[0].at - (second - start);
  assert.ok(firstAt >= 240, `not before the max delay (${firstAt} ms)`);
});
