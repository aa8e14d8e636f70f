import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpPool } from '../../src/runtime/ip-pool.js';
import { buildResponse, parseQuery, RCODE } from '../../src/runtime/dns-wire.js';

test('the pool gives the bridge the first address and pods the next ones, reusing released ones last', () => {
  const pool = new IpPool('10.88.0.0/16');
  assert.equal(pool.gateway, '10.88.0.1');
  assert.equal(pool.allocate(), '10.88.0.2');
  assert.equal(pool.allocate(), '10.88.0.3');
  pool.release('10.88.0.2');
  assert.equal(pool.allocate(), '10.88.0.4', 'a fresh address before a recently freed one');
});

test('a full pool says so; a bad CIDR is named', () => {
  const pool = new IpPool('10.1.2.0/30'); // .1 bridge, .2 the only pod address, .3 broadcast
  assert.equal(pool.allocate(), '10.1.2.2');
  assert.throws(() => pool.allocate(), /has no free address left/);
  pool.release('10.1.2.2');
  assert.equal(pool.allocate(), '10.1.2.2', 'wraps round to a released address');
  assert.throws(() => new IpPool('10.1.2.0'), /not an IPv4 CIDR/);
  assert.throws(() => new IpPool('10.1.2.0/31'), /not an IPv4 CIDR/);
});

test('DNS answers encode IPv6 in all its spellings', () => {
  const q = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 120, 0, 0, 28, 0, 1]);
  const query = parseQuery(q);
  assert.equal(query.name, 'x');
  const reply = buildResponse(query, {
    rcode: RCODE.NOERROR,
    answers: ['::1', 'fd00::20', '1::', '::ffff:10.0.0.1', '2001:db8:0:0:1:0:0:1'].map((address) => ({ address, ttl: 30 })),
  });
  const rdatas: string[] = [];
  let pos = 12 + query.rawQuestion.length;
  for (let i = 0; i < reply.readUInt16BE(6); i++) {
    rdatas.push(reply.subarray(pos + 12, pos + 28).toString('hex'));
    pos += 28;
  }
  assert.deepEqual(rdatas, [
    '00000000000000000000000000000001',
    'fd000000000000000000000000000020',
    '00010000000000000000000000000000',
    '00000000000000000000ffff0a000001',
    '20010db8000000000001000000000001',
  ]);
});
