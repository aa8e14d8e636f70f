import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeExportTo, isExportedTo, isVisible, parseExportTo, parseExportToAnnotation } from '../../src/registry/export-to.js';

describe('exportTo', () => {
  it('defaults to everyone, or to the mesh default', () => {
    assert.equal(isVisible(parseExportTo(undefined, 'a'), 'zzz'), true);
    assert.equal(isVisible(parseExportTo([], 'a'), 'zzz'), true);
    assert.equal(isVisible(parseExportTo(undefined, 'a', ['.']), 'zzz'), false);
    assert.equal(isVisible(parseExportTo(undefined, 'a', ['.']), 'a'), true);
  });

  it('reads . as the owner namespace only', () => {
    const e = parseExportTo(['.'], 'shop');
    assert.equal(isVisible(e, 'shop'), true);
    assert.equal(isVisible(e, 'default'), false);
    assert.equal(describeExportTo(e), 'shop');
  });

  it('reads * as everyone, even among other names', () => {
    assert.equal(isVisible(parseExportTo(['foo', '*'], 'shop'), 'bar'), true);
  });

  it('reads a namespace list, and ~ as no one', () => {
    const e = parseExportTo(['.', 'istio-system', 'bar'], 'shop');
    assert.deepEqual([...e].sort(), ['bar', 'istio-system', 'shop']);
    assert.equal(isVisible(e, 'foo'), false);
    const hidden = parseExportTo(['~'], 'shop');
    assert.equal(isVisible(hidden, 'shop'), false);
    assert.equal(describeExportTo(hidden), '~');
  });

  it('reads the comma-separated annotation form', () => {
    const e = parseExportToAnnotation(' ., istio-system ', 'shop');
    assert.equal(describeExportTo(e), 'istio-system,shop');
    assert.equal(isExportedTo(['.'], 'a', 'b'), false);
    assert.equal(isExportedTo(['b'], 'a', 'b'), true);
  });
});
