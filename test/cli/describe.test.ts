import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describePod } from '../../src/cli/describe.js';
import { loadPaths } from '../../src/config/loader.js';
import type { LoadedResource } from '../../src/config/resource.js';
import { expandWorkloads } from '../../src/config/workloads.js';
import { buildRegistry } from '../../src/registry/service-registry.js';

const run = promisify(execFile);
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
const sailfin = join(root, 'bin', 'sailfin');
const networking = join(root, 'samples', 'bookinfo', 'networking');

const POLICIES = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: reviews-strict, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-from-productpage, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/default/sa/bookinfo-productpage]}}]
`;

describe('sailfin x describe pod', () => {
  let dir: string;
  let paths: string[];
  let resources: LoadedResource[];
  const podOf = (app: string, version: string) =>
    buildRegistry(expandWorkloads(resources)).allPods().find((p) => p.labels.app === app && p.labels.version === version)!.name;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sailfin-describe-'));
    writeFileSync(join(dir, 'policies.yaml'), POLICIES);
    paths = [join(root, 'samples', 'bookinfo', 'platform', 'bookinfo.yaml'), join(networking, 'destination-rule-all.yaml'), join(networking, 'virtual-service-reviews-jason-v2-v3.yaml'), join(dir, 'policies.yaml')];
    const loaded = await loadPaths(paths);
    resources = loaded.resources;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names the service, subset, the routes that reach the pod, STRICT mTLS and the ALLOW policy', () => {
    const text = describePod(resources, podOf('reviews', 'v2'), 'default');
    assert.match(text, /Service: reviews\.default/);
    assert.match(text, /Port: http 9080\/HTTP targets pod port 9080 \(inbound mTLS: STRICT\)/);
    assert.match(text, /DestinationRule: reviews\.default/);
    assert.match(text, /Matching subsets: v2\n/);
    assert.match(text, /Non-matching subsets v1, v3/);
    assert.match(text, /VirtualService: reviews\.default/);
    assert.match(text, /http route 1 \(when .*jason.*\) → subset v2/);
    assert.doesNotMatch(text, /http route 2/, 'the default route goes to v3, not to this pod');
    assert.match(text, /Effective PeerAuthentication: STRICT/);
    assert.match(text, /reviews-strict\.default/);
    assert.match(text, /reviews-from-productpage\.default: ALLOW, 1 rule/);
  });

  it('shows the mesh defaults for a pod nothing targets', () => {
    const text = describePod(resources, podOf('details', 'v1'), 'default');
    assert.match(text, /Service: details\.default/);
    assert.match(text, /No VirtualService/);
    assert.match(text, /Effective PeerAuthentication: PERMISSIVE/);
    assert.match(text, /Applied AuthorizationPolicies: none/);
  });

  it("lists the PeerAuthentications the generator's rule uses, no more", async () => {
    const extra = join(dir, 'more-policies.yaml');
    writeFileSync(extra, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: reviews-second, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  mtls: {mode: DISABLE}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: all-workloads, namespace: default}
spec:
  selector: {matchLabels: {}}
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: mesh, namespace: istio-system}
spec: {mtls: {mode: PERMISSIVE}}
`);
    const all = (await loadPaths([...paths, extra])).resources;
    // Only the first policy selecting a workload is in force: the second one for reviews is not applied.
    const reviews = describePod(all, podOf('reviews', 'v1'), 'default');
    assert.match(reviews, /Effective PeerAuthentication: STRICT\n   Applied PeerAuthentication: reviews-strict\.default, all-workloads\.default, mesh\.istio-system\n/);
    // An empty matchLabels selects the whole namespace, in the mode and in the list alike.
    const details = describePod(all, podOf('details', 'v1'), 'default');
    assert.match(details, /Effective PeerAuthentication: STRICT\n   Applied PeerAuthentication: all-workloads\.default, mesh\.istio-system\n/);
    assert.match(details, /\(inbound mTLS: STRICT\)/);
  });

  it('runs as a command and refuses an unknown pod with a clear message, no stack trace', async () => {
    const pod = podOf('reviews', 'v3');
    const ok = await run(sailfin, ['x', 'describe', 'pod', pod, '-n', 'default', '-f', ...paths], { timeout: 30_000 });
    assert.match(ok.stdout, /http route 2 \(default route\) → subset v3/);
    await assert.rejects(run(sailfin, ['x', 'describe', 'pod', 'reviews', '-f', ...paths], { timeout: 30_000 }), (err: { stderr: string; code: number }) => {
      assert.notEqual(err.code, 0);
      assert.match(err.stderr, /pod "reviews" not found in namespace "default" \(did you mean reviews-v1/);
      assert.doesNotMatch(err.stderr, /\n\s+at /);
      return true;
    });
  });
});
