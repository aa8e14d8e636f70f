/**
 * `sailfin inject -f` as a user runs it (like `istioctl kube-inject`): the printed manifests carry the
 * sidecar in every pod template, leave other objects as they were, and say why a pod was skipped.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';

const BIN = new URL('../../../bin/sailfin', import.meta.url).pathname;

const MANIFESTS = `apiVersion: v1
kind: Service
metadata: { name: productpage }
spec: { selector: { app: productpage }, ports: [{ name: http, port: 9080 }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: productpage-v1, namespace: bookinfo }
spec:
  selector: { matchLabels: { app: productpage } }
  template:
    metadata:
      labels: { app: productpage, version: v1 }
      annotations: { traffic.sidecar.istio.io/excludeOutboundPorts: "3306" }
    spec:
      containers:
      - name: productpage
        image: docker.io/istio/examples-bookinfo-productpage-v1:1.20.2
        ports: [{ containerPort: 9080 }]
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: report }
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{ name: report, image: busybox }]
---
apiVersion: v1
kind: Pod
metadata: { name: node-agent }
spec:
  hostNetwork: true
  containers: [{ name: agent, image: busybox }]
`;

test('sailfin inject -f prints the manifests with sidecars in pod templates', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-inject-'));
  try {
    const file = join(dir, 'app.yaml');
    writeFileSync(file, MANIFESTS);
    const run = spawnSync(BIN, ['inject', '-f', file, '--image', 'example/sailfin:2'], { encoding: 'utf8', timeout: 45_000 });
    assert.equal(run.status, 0, run.stderr);
    const docs = parseAllDocuments(run.stdout).map((d) => d.toJS() as Record<string, any>);
    assert.deepEqual(docs.map((d) => d.kind), ['Service', 'Deployment', 'CronJob', 'Pod']);
    assert.equal(docs[0].spec.ports[0].port, 9080, 'other objects pass through');
    const template = docs[1].spec.template;
    assert.deepEqual(template.spec.containers.map((c: { name: string }) => c.name), ['productpage', 'istio-proxy']);
    assert.deepEqual(template.spec.initContainers.map((c: { name: string }) => c.name), ['istio-init']);
    assert.equal(template.spec.containers[1].image, 'example/sailfin:2');
    assert.equal(template.metadata.labels['security.istio.io/tlsMode'], 'istio');
    assert.ok(template.metadata.annotations['sidecar.istio.io/status']);
    const workload = template.spec.containers[1].env.find((e: { name: string }) => e.name === 'ISTIO_META_WORKLOAD_NAME');
    assert.equal(workload.value, 'productpage-v1');
    const job = docs[2].spec.jobTemplate.spec.template.spec;
    assert.deepEqual(job.containers.map((c: { name: string }) => c.name), ['report', 'istio-proxy']);
    assert.equal(docs[3].spec.containers.length, 1, 'hostNetwork pod untouched');
    assert.match(run.stderr, /Pod\/node-agent: not injected: pod uses the host network/);
    assert.match(run.stderr, /Deployment\/productpage-v1: injected/);

    // The init container's arguments are exactly what `sailfin iptables` takes.
    const initArgs = template.spec.initContainers[0].args as string[];
    const rules = spawnSync(BIN, [...initArgs, '--dry-run'], { encoding: 'utf8', timeout: 45_000 });
    assert.equal(rules.status, 0, rules.stderr);
    assert.match(rules.stdout, /-A ISTIO_OUTPUT -p tcp --dport 3306 -j RETURN/);
    assert.match(rules.stdout, /-A ISTIO_INBOUND -p tcp -m multiport --dports 15090,15021,15020,15000 -j RETURN/);
    assert.match(rules.stdout, /--uid-owner 1337/);

    writeFileSync(file, MANIFESTS.replace('annotations: { traffic.sidecar.istio.io/excludeOutboundPorts: "3306" }', 'annotations: { status.sidecar.istio.io/port: "http" }'));
    const bad = spawnSync(BIN, ['inject', '-f', file], { encoding: 'utf8', timeout: 45_000 });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /app\.yaml:\d+: Deployment\/productpage-v1: .*status\.sidecar\.istio\.io\/port.*"http" is not a port number/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
