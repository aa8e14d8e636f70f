import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newRequestId } from '../../../src/proxy/http/request-headers.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('x-request-id generation', () => {
  it('makes RFC 4122 version-4 UUIDs, all different, across refills of the random pool', () => {
    const seen = new Set<string>();
    // 256 ids per pool refill: 1,000 cross three refills.
    for (let i = 0; i < 1000; i++) {
      const id = newRequestId();
      assert.match(id, V4);
      seen.add(id);
    }
    assert.equal(seen.size, 1000);
  });
});
