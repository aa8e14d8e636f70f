import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonInterner } from '../../src/xds/json-intern.js';
import type { JsonObject } from '../../src/xds/json-scalars.js';

function cluster(name: string, sni: string): JsonObject {
  return {
    name,
    type: 'EDS',
    circuit_breakers: { thresholds: [{ max_connections: 4294967295, max_retries: 4294967295 }] },
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { sni, alpn_protocols: ['istio-peer-exchange', 'istio'] } },
  };
}

test('equal blocks of different resources become one object, different ones stay apart, values unchanged', () => {
  const interner = new JsonInterner();
  const inputs = [cluster('a', 'x.local'), cluster('b', 'x.local'), cluster('c', 'y.local')];
  const copies = inputs.map((c) => structuredClone(c));
  const [a, b, c] = inputs.map((r) => interner.intern(r));
  for (const [i, r] of [a, b, c].entries()) assert.deepEqual(r, copies[i]);
  assert.equal(a.circuit_breakers, b.circuit_breakers);
  assert.equal(a.circuit_breakers, c.circuit_breakers);
  assert.equal(a.transport_socket, b.transport_socket);
  assert.notEqual(a.transport_socket, c.transport_socket);
  assert.equal((a.transport_socket as JsonObject).typed_config !== (c.transport_socket as JsonObject).typed_config, true);
  assert.equal(((a.transport_socket as JsonObject).typed_config as JsonObject).alpn_protocols, ((c.transport_socket as JsonObject).typed_config as JsonObject).alpn_protocols);
  assert.notEqual(a, b, 'resources with different names stay distinct');
});

test('values that print alike but differ in type or split are not merged', () => {
  const interner = new JsonInterner();
  const pairs: Array<[JsonObject, JsonObject]> = [
    [{ v: '1' }, { v: 1 }],
    [{ v: ['ab', 'c'] }, { v: ['a', 'bc'] }],
    [{ v: [[]] }, { v: [] }],
    [{ v: null }, { v: 'null' }],
    [{ v: true }, { v: 'true' }],
    [{ v: {} }, { v: [] }],
    [{ ab: 'c' }, { a: 'bc' }],
  ];
  for (const [x, y] of pairs) {
    const cx = structuredClone(x);
    const cy = structuredClone(y);
    const ix = interner.intern(x);
    const iy = interner.intern(y);
    assert.notEqual(ix, iy, `${JSON.stringify(cx)} vs ${JSON.stringify(cy)}`);
    assert.deepEqual(ix, cx);
    assert.deepEqual(iy, cy);
  }
});

test('shared blocks are frozen: a change through one resource cannot reach its neighbours', () => {
  const interner = new JsonInterner();
  const a = interner.intern(cluster('a', 'x.local'));
  const b = interner.intern(cluster('b', 'x.local'));
  assert.throws(() => {
    'use strict';
    (a.transport_socket as JsonObject).name = 'changed';
  }, TypeError);
  assert.equal((b.transport_socket as JsonObject).name, 'envoy.transport_sockets.tls');
});
