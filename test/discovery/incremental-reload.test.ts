import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { ParseCache, loadPaths } from '../../src/config/loader.js';
import { ControlPlane } from '../../src/discovery/control-plane.js';

const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
`;
const DEPLOYMENT = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews, namespace: default}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: reviews}}
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec: {containers: [{name: app, image: echo}]}
`;
const VS = (weight: number | string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews}, weight: ${weight}}
`;

describe('control plane: incremental reload', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  function meshDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'sailfin-reload-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'service.yaml'), SERVICE);
    writeFileSync(join(dir, 'deployment.yaml'), DEPLOYMENT(2));
    writeFileSync(join(dir, 'vs.yaml'), VS(100));
    return dir;
  }

  it('re-parses and re-validates only the changed file; unchanged objects keep their identity', async () => {
    const dir = meshDir();
    const cp = new ControlPlane({ paths: [dir], logger: pino({ level: 'silent' }) });
    assert.equal((await cp.reload()).accepted, true);
    assert.equal(cp.reparsedFiles.length, 3);
    const svc = cp.store.get('Service', 'default', 'reviews');
    const deployment = cp.store.get('Deployment', 'default', 'reviews');
    const vs = cp.store.get('VirtualService', 'default', 'reviews');
    const pods = cp.registry.allPods().map((p) => `${p.name}=${p.address}`).sort();

    writeFileSync(join(dir, 'vs.yaml'), VS(100).replace('hosts: [reviews]', 'hosts: [reviews.default.svc.cluster.local]'));
    assert.equal((await cp.reload()).accepted, true);
    assert.deepEqual(cp.reparsedFiles, [join(dir, 'vs.yaml')]);
    assert.equal(cp.store.get('Service', 'default', 'reviews'), svc);
    assert.equal(cp.store.get('Deployment', 'default', 'reviews'), deployment);
    assert.notEqual(cp.store.get('VirtualService', 'default', 'reviews'), vs);
    assert.deepEqual(cp.registry.allPods().map((p) => `${p.name}=${p.address}`).sort(), pods, 'pods untouched');

    // Nothing changed at all: nothing parsed.
    assert.equal((await cp.reload()).accepted, true);
    assert.deepEqual(cp.reparsedFiles, []);

    writeFileSync(join(dir, 'deployment.yaml'), DEPLOYMENT(3));
    assert.equal((await cp.reload()).accepted, true);
    assert.deepEqual(cp.reparsedFiles, [join(dir, 'deployment.yaml')]);
    assert.equal(cp.registry.allPods().length, 3);
    await cp.close();
  });

  it('a bad change is refused with file:line and the last good objects stay in force; fixing it is accepted', async () => {
    const dir = meshDir();
    const cp = new ControlPlane({ paths: [dir], logger: pino({ level: 'silent' }) });
    assert.equal((await cp.reload()).accepted, true);
    const good = cp.store.get('VirtualService', 'default', 'reviews');
    writeFileSync(join(dir, 'vs.yaml'), VS('"heavy"'));
    const bad = await cp.reload();
    assert.equal(bad.accepted, false);
    const err = bad.messages.find((m) => m.type.level === 'Error');
    assert.ok(err, 'an error message');
    assert.equal(err.location?.file, join(dir, 'vs.yaml'));
    assert.ok((err.location?.line ?? 0) > 1, `a line number: ${JSON.stringify(err.location)}`);
    assert.equal(cp.store.get('VirtualService', 'default', 'reviews'), good, 'last good config in force');
    // Reloading the same bad text is refused again (the cached parse keeps its errors).
    assert.equal((await cp.reload()).accepted, false);
    writeFileSync(join(dir, 'vs.yaml'), VS(100).replace('weight: 100', 'weight: 100}\n    - {destination: {host: reviews}, weight: 0'));
    assert.equal((await cp.reload()).accepted, true);
    assert.notEqual(cp.store.get('VirtualService', 'default', 'reviews'), good);
    await cp.close();
  });

  it('the loader still finds an object defined twice when one of the files comes from the cache', async () => {
    const dir = meshDir();
    const cache = new ParseCache();
    const first = await loadPaths([dir], { cache });
    assert.equal(first.messages.filter((m) => m.type.level === 'Error').length, 0);
    writeFileSync(join(dir, 'z-copy.yaml'), SERVICE);
    const second = await loadPaths([dir], { cache });
    assert.deepEqual(cache.parsedFiles, [join(dir, 'z-copy.yaml')]);
    const dup = second.messages.find((m) => m.message.includes('defined twice'));
    assert.ok(dup, 'duplicate reported');
    assert.match(dup.message, /service\.yaml:1.*z-copy\.yaml:1/);
    const svc = first.resources.find((r) => r.resource.kind === 'Service');
    assert.equal(second.resources.find((r) => r.resource.kind === 'Service'), svc, 'same object from the cache');
  });
});
