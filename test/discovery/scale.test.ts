import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runControlPlaneBench } from '../../bench/control-plane.js';

// The full-size run (1,000 services, 200 proxies) is `node dist/bench/control-plane.js`; this keeps its
// machinery honest on a small mesh and bounds the control plane's own CPU time per push, which unlike wall
// time does not depend on how loaded the machine is.
describe('control plane at (small) scale', () => {
  it('pushes a VirtualService change and a Deployment scale-up to every proxy within CPU bounds', { timeout: 180_000 }, async () => {
    const r = await runControlPlaneBench({
      shape: { services: 60, replicas: 3, namespaces: 6, routed: 6 },
      proxies: 12,
      timeoutMs: 150_000,
    });
    assert.equal(r.services, 60);
    assert.equal(r.pods, 180);
    assert.equal(r.proxies, 12);
    // Each includes re-reading the manifests; the endpoint push must stay EDS-only and cheaper than a full push.
    assert.ok(r.configPush.cpuMs < 2500, `config push took ${r.configPush.cpuMs} ms of control-plane CPU`);
    assert.ok(r.endpointPush.cpuMs < 2000, `endpoint push took ${r.endpointPush.cpuMs} ms of control-plane CPU`);
    assert.ok(r.rssMb < 500, `control plane RSS ${r.rssMb} MB`);
  });
});
