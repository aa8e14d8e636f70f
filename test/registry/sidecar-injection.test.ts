import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasSidecar, injectionLabelsDiffer, type InjectionInputs } from '../../src/registry/sidecar-injection.js';

const base: InjectionInputs = { podLabels: {}, podAnnotations: {}, namespaceLabels: {}, containerNames: ['app'], hostNetwork: false, injectByDefault: true };
const decide = (over: Partial<InjectionInputs>) => hasSidecar({ ...base, ...over });

describe('sidecar injection decision', () => {
  it('trusts a pod that already carries a proxy', () => {
    assert.equal(decide({ containerNames: ['app', 'istio-proxy'], podLabels: { 'sidecar.istio.io/inject': 'false' }, injectByDefault: false }), true);
    assert.equal(decide({ podAnnotations: { 'sidecar.istio.io/status': '{}' }, injectByDefault: false }), true);
  });

  it('never injects host-network pods', () => {
    assert.equal(decide({ hostNetwork: true, namespaceLabels: { 'istio-injection': 'enabled' } }), false);
  });

  it('lets the pod opt out (label before annotation) and the namespace disable', () => {
    assert.equal(decide({ podLabels: { 'sidecar.istio.io/inject': 'False' } }), false);
    assert.equal(decide({ podLabels: { 'sidecar.istio.io/inject': 'true' }, podAnnotations: { 'sidecar.istio.io/inject': 'false' } }), true);
    assert.equal(decide({ namespaceLabels: { 'istio-injection': 'disabled' }, podLabels: { 'sidecar.istio.io/inject': 'true' } }), false);
  });

  it('injects on namespace enablement or a revision label, else follows the default', () => {
    assert.equal(decide({ injectByDefault: false, namespaceLabels: { 'istio-injection': 'enabled' } }), true);
    assert.equal(decide({ injectByDefault: false, namespaceLabels: { 'istio.io/rev': 'stable' } }), true);
    assert.equal(decide({ injectByDefault: false, podLabels: { 'sidecar.istio.io/inject': 'true' } }), true);
    assert.equal(decide({ injectByDefault: false }), false);
    assert.equal(decide({}), true);
  });

  it('only injection labels make a namespace change matter', () => {
    assert.equal(injectionLabelsDiffer({ a: '1' }, { a: '2' }), false);
    assert.equal(injectionLabelsDiffer({}, { 'istio-injection': 'enabled' }), true);
    assert.equal(injectionLabelsDiffer({ 'istio.io/rev': 'a' }, { 'istio.io/rev': 'b' }), true);
  });
});
