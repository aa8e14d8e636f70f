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

/**
 * Wall-clock time and this process's CPU time. The bound is on CPU time: the test suite shares two cores
 * with other test files (load averages of 10+ are normal), which stretches wall time but not CPU time.
 */
function measure<T>(fn: () => T): { value: T; wallMs: number; cpuMs: number } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { value, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

describe('registry: scale', () => {
  it('builds 1,000 services and 5,000 pods well under a second, and applies one pod change in milliseconds', () => {
    const objects = mesh();
    const r = new ServiceRegistry();
    const build = measure(() => r.apply(up(...objects)));
    assert.equal(r.services().length, 1000);
    assert.equal(r.allPods().length, 5000);
    assert.equal(build.value.filter((e) => e.type === 'service-added').length, 1000);
    assert.equal(r.endpoints('svc-7.big.svc.cluster.local', 80).length, 5);
    assert.equal(new Set(r.allPods().map((p) => p.address)).size, 5000, 'every pod has its own address');

    const change = measure(() => r.apply(up(pod('svc-7-0', { namespace: 'big', labels: { app: 'svc-7', version: 'v9', tier: 'web' }, sa: 'sa-7' }))));
    assert.deepEqual(change.value.map((e) => e.type), ['endpoints-changed']);

    // Fresh copies of unchanged objects (a reloaded file): compared by value, nothing emitted.
    const copies = objects.filter((o) => o.resource.metadata.name !== 'svc-7-0').map((o) => ({ ...o, resource: structuredClone(o.resource) }));
    const reapply = measure(() => r.apply(up(...copies)));
    assert.deepEqual(reapply.value, []);

    // A second, warm build: what a long-running control plane pays on a full resync.
    const warm = measure(() => new ServiceRegistry().apply(up(...objects)));
    const fmt = (m: { wallMs: number; cpuMs: number }) => `${m.cpuMs.toFixed(0)} ms CPU (${m.wallMs.toFixed(0)} ms wall)`;
    console.log(
      `registry scale (1,000 services, 5,000 pods): first build ${fmt(build)}, warm build ${fmt(warm)}, ` +
        `one pod change ${fmt(change)}, unchanged re-apply of copies ${fmt(reapply)}`,
    );
    assert.ok(warm.cpuMs < 1000, `warm build took ${warm.cpuMs} ms of CPU`);
    assert.ok(build.cpuMs < 2000, `first build took ${build.cpuMs} ms of CPU`);
    assert.ok(change.cpuMs < 50, `one change took ${change.cpuMs} ms of CPU`);
  });
});
