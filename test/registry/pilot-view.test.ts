import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceView } from '../../src/pilot/model.js';
import { buildRegistry } from '../../src/registry/service-registry.js';
import { pod, service, workloadEntry } from './helpers.js';

describe('registry as the pilot’s ServiceView', () => {
  it('is usable where the xDS generators expect a ServiceView', () => {
    // Type-checked: if the registry's shape drifts from the pilot's model, this file stops compiling.
    const view: ServiceView = buildRegistry([
      service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
      pod('web-1', { labels: { app: 'web' }, ip: '10.88.5.1' }),
      workloadEntry('vm', { address: '192.0.2.7', labels: { role: 'vm' } }),
    ]);
    assert.equal(view.services().length, 1);
    assert.equal(view.service('web.default.svc.cluster.local')?.addresses.length, 1);
    assert.deepEqual(view.endpoints('web.default.svc.cluster.local', 80).map((e) => `${e.address}:${e.port}`), ['10.88.5.1:8080']);
    assert.deepEqual(view.instancesOf('10.88.5.1').map((i) => `${i.service.hostname}:${i.servicePort.port}->${i.targetPort}`), [
      'web.default.svc.cluster.local:80->8080',
    ]);
    assert.deepEqual(view.podLabels('10.88.5.1'), { app: 'web' });
    assert.deepEqual(view.podLabels('192.0.2.7'), { role: 'vm' });
    assert.equal(view.podLabels('10.0.0.1'), undefined);
  });
});
