import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import type { LoadedResource } from '../../src/config/resource.js';
import { ServiceRegistry } from '../../src/registry/service-registry.js';
import { pod, service, up } from './helpers.js';

/** 1,000 services over 20 namespaces, 5 pods each (5,000 pods), half of them in one big namespace. */
function mesh(): LoadedResource[] {
  const out: LoadedResource[] = [];
  for (let i = 0; i < 1000; i++) {
    const ns = i < 500 ? 'big' : `ns-${i % 19}`;
    out.push(service(`svc-${i}`, { selector: { app: `svc-${i}` }, ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'grpc', port: 9090 }] }, { namespace: ns }));
    for (let j = 0; j < 5; j++) {
      out.push(pod(`svc-${i}-${j}`, { namespace: ns, labels: { app: `svc-${i}`, version: `v${j % 2}`, tier: 'web' }, sa: `sa-${i}` }));
    }
  }
  return out;
}

describe('registry: scale', () => {
  it('builds 1,000 services and 5,000 pods well under a second, and applies one pod change in milliseconds', () => {
    const objects = mesh();
    const r = new ServiceRegistry();
    const t0 = performance.now();
    const events = r.apply(up(...objects));
    const build = performance.now() - t0;
    assert.equal(r.services().length, 1000);
    assert.equal(r.allPods().length, 5000);
    assert.equal(events.filter((e) => e.type === 'service-added').length, 1000);
    assert.equal(r.endpoints('svc-7.big.svc.cluster.local', 80).length, 5);
    assert.equal(new Set(r.allPods().map((p) => p.address)).size, 5000, 'every pod has its own address');

    const t1 = performance.now();
    const one = r.apply(up(pod('svc-7-0', { namespace: 'big', labels: { app: 'svc-7', version: 'v9', tier: 'web' }, sa: 'sa-7' })));
    const change = performance.now() - t1;
    assert.deepEqual(one.map((e) => e.type), ['endpoints-changed']);

    // Fresh copies of unchanged objects (a reloaded file): compared by value, nothing emitted.
    const copies = objects.filter((o) => o.resource.metadata.name !== 'svc-7-0').map((o) => ({ ...o, resource: structuredClone(o.resource) }));
    const t2 = performance.now();
    assert.deepEqual(r.apply(up(...copies)), []);
    const reapply = performance.now() - t2;
    // A second, warm build: what a long-running control plane pays on a full resync.
    const t3 = performance.now();
    new ServiceRegistry().apply(up(...objects));
    const warm = performance.now() - t3;
    console.log(
      `registry scale (1,000 services, 5,000 pods): first build ${build.toFixed(0)} ms, warm build ${warm.toFixed(0)} ms, ` +
        `one pod change ${change.toFixed(2)} ms, unchanged re-apply of copies ${reapply.toFixed(0)} ms`,
    );
    // Loose bounds: a loaded 2-core CI machine runs several test files at once; typical figures are 5-10x lower.
    assert.ok(warm < 1500, `warm build took ${warm} ms`);
    assert.ok(build < 3000, `first build took ${build} ms`);
    assert.ok(change < 50, `one change took ${change} ms`);
  });
});
