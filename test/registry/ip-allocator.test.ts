import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrContains, IpAllocator, parseCidr } from '../../src/registry/ip-allocator.js';
import { SailfinError } from '../../src/common/errors.js';

describe('IpAllocator', () => {
  it('gives an owner the same address every time, and in any allocation order', () => {
    const a = new IpAllocator('10.96.0.0/16');
    const b = new IpAllocator('10.96.0.0/16');
    const names = Array.from({ length: 50 }, (_, i) => `Service/default/svc-${i}`);
    for (const n of names) a.allocate(n);
    for (const n of [...names].reverse()) b.allocate(n);
    for (const n of names) {
      assert.equal(a.allocate(n), a.addressOf(n));
      assert.equal(a.addressOf(n), b.addressOf(n), n);
      assert.ok(cidrContains(a.cidr, a.addressOf(n)!));
    }
    assert.equal(new Set(names.map((n) => a.addressOf(n))).size, 50);
  });

  it('gives a released owner its address back when it returns', () => {
    const a = new IpAllocator('10.96.0.0/16');
    const first = a.allocate('x');
    a.release('x');
    assert.equal(a.addressOf('x'), undefined);
    assert.equal(a.allocate('x'), first);
  });

  it('never hands out .0, .1 or .255 and fails clearly when full', () => {
    const a = new IpAllocator('10.0.0.0/30'); // .0 .1 .2 .3: only .2 and .3 usable
    const got = [a.allocate('a'), a.allocate('b')].sort();
    assert.deepEqual(got, ['10.0.0.2', '10.0.0.3']);
    assert.throws(() => a.allocate('c'), (e: unknown) => e instanceof SailfinError && /no free address/.test(e.message));
  });

  it('honours reservations and refuses an address held by someone else', () => {
    const a = new IpAllocator('10.96.0.0/16');
    assert.equal(a.reserve('x', '10.96.5.5'), true);
    assert.equal(a.reserve('y', '10.96.5.5'), false);
    assert.equal(a.ownerOf('10.96.5.5'), 'x');
    assert.equal(a.reserve('x', '10.96.5.6'), true);
    assert.equal(a.ownerOf('10.96.5.5'), undefined);
    assert.equal(a.reserve('z', '192.168.1.1'), true, 'outside the CIDR is recorded, not refused');
  });

  it('rejects a malformed CIDR with a SailfinError', () => {
    assert.throws(() => parseCidr('10.96.0.0'), SailfinError);
    assert.throws(() => parseCidr('300.1.1.1/16'), SailfinError);
    assert.equal(parseCidr('10.96.3.4/16').base, parseCidr('10.96.0.0/16').base);
  });
});
