import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { cancelDeadline, DeadlineQueue } from '../../../src/proxy/http/deadline-queue.js';

function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    const poll = (): void => {
      if (cond()) return resolve();
      if (Date.now() > end) return reject(new Error('timed out'));
      setTimeout(poll, 2);
    };
    poll();
  });
}

describe('deadline queue (shared per-duration timeouts)', () => {
  it('fires each live deadline once, in arming order, never before its time', async () => {
    const q = new DeadlineQueue(30);
    const fired: Array<{ n: number; late: number }> = [];
    const armedAt = new Map<number, number>();
    for (let n = 0; n < 5; n++) {
      armedAt.set(n, performance.now());
      q.arm({ n }, (t) => fired.push({ n: t.n, late: performance.now() - armedAt.get(t.n)! }));
    }
    await waitFor(() => fired.length === 5);
    assert.deepEqual(fired.map((f) => f.n), [0, 1, 2, 3, 4]);
    for (const f of fired) assert.ok(f.late >= 29, `fired after ${f.late} ms`);
    assert.equal(q.live, 0);
  });

  it('never fires a cancelled deadline, and re-arming from a callback works', async () => {
    const q = new DeadlineQueue(10);
    const fired: string[] = [];
    const a = q.arm({ id: 'a' }, (t) => fired.push(t.id));
    let rearmed = false;
    q.arm({ id: 'b' }, (t) => {
      fired.push(t.id);
      if (!rearmed) {
        rearmed = true;
        q.arm({ id: 'b2' }, (u) => fired.push(u.id));
      }
    });
    cancelDeadline(a);
    cancelDeadline(a);
    assert.equal(q.live, 1);
    await waitFor(() => fired.length === 2);
    assert.deepEqual(fired, ['b', 'b2']);
    assert.equal(q.live, 0);
  });

  it('drops cancelled slots instead of keeping one per request until they expire', () => {
    const q = new DeadlineQueue(60_000);
    const keep = q.arm({}, () => undefined);
    for (let i = 0; i < 20_000; i++) cancelDeadline(q.arm({}, () => undefined));
    assert.equal(q.live, 1);
    const slots = (q as unknown as { slots: unknown[]; head: number }).slots.length - (q as unknown as { head: number }).head;
    assert.ok(slots < 3000, `${slots} slots held for 1 live deadline`);
    cancelDeadline(keep);
  });
});
