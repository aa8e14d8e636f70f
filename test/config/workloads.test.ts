import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTexts } from '../../src/config/loader.js';
import { expandWorkloads, POD_TEMPLATE_HASH_LABEL, STATEFULSET_POD_NAME_LABEL } from '../../src/config/workloads.js';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: reviews-v1
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels: {app: reviews, version: v1}
  template:
    metadata:
      labels: {app: reviews, version: v1}
      annotations: {sidecar.istio.io/inject: "true"}
    spec:
      serviceAccountName: bookinfo-reviews
      containers:
      - name: reviews
        image: reviews:v1
        ports:
        - containerPort: 9080
`;

const STATEFULSET = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db-headless
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: db}]
`;

function pods(text: string, file = 'w.yaml') {
  const loaded = loadTexts([{ file, text }]);
  assert.deepEqual(loaded.messages, []);
  return expandWorkloads(loaded.resources);
}

describe('expandWorkloads', () => {
  it('names Deployment pods <name>-<template hash>-<suffix>, the same on every load', () => {
    const first = pods(DEPLOYMENT);
    const second = pods(DEPLOYMENT);
    assert.equal(first.length, 3);
    const names = first.map((p) => p.resource.metadata.name);
    assert.deepEqual(names, second.map((p) => p.resource.metadata.name));
    assert.equal(new Set(names).size, 3);
    for (const name of names) assert.match(name, /^reviews-v1-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const hash = names[0].split('-')[2];
    const pod = first[0].resource;
    assert.equal(pod.kind, 'Pod');
    assert.equal(pod.apiVersion, 'v1');
    assert.equal(pod.metadata.namespace, 'shop');
    assert.deepEqual(pod.metadata.labels, { app: 'reviews', version: 'v1', [POD_TEMPLATE_HASH_LABEL]: hash });
    assert.deepEqual(pod.metadata.annotations, { 'sidecar.istio.io/inject': 'true' });
    assert.equal(pod.metadata.ownerReferences?.[0].kind, 'ReplicaSet');
    assert.equal(pod.metadata.ownerReferences?.[0].name, `reviews-v1-${hash}`);
    const spec = pod.spec as Record<string, any>;
    assert.equal(spec.serviceAccountName, 'bookinfo-reviews');
    assert.equal(spec.containers[0].ports[0].containerPort, 9080);
  });

  it('changes the template hash when the template changes', () => {
    const a = pods(DEPLOYMENT)[0].resource.metadata.labels![POD_TEMPLATE_HASH_LABEL];
    const b = pods(DEPLOYMENT.replace('reviews:v1', 'reviews:v2'))[0].resource.metadata.labels![POD_TEMPLATE_HASH_LABEL];
    assert.notEqual(a, b);
  });

  it("points each pod's source at the template's file:line", () => {
    const pod = pods(DEPLOYMENT, 'reviews.yaml')[0];
    assert.equal(pod.source.file, 'reviews.yaml');
    assert.equal(pod.source.line, 10);
    assert.equal(pod.source.fieldLines?.get('spec.containers[0].image'), 18);
    assert.equal(pod.source.fieldLines?.get('metadata.labels'), 12);
  });

  it('names StatefulSet pods name-0..N-1 with hostname and subdomain', () => {
    const out = pods(STATEFULSET);
    assert.deepEqual(out.map((p) => p.resource.metadata.name), ['db-0', 'db-1']);
    const spec = out[1].resource.spec as Record<string, unknown>;
    assert.equal(spec.hostname, 'db-1');
    assert.equal(spec.subdomain, 'db-headless');
    assert.equal(spec.serviceAccountName, 'default');
    assert.equal(out[1].resource.metadata.namespace, 'default');
    assert.equal(out[1].resource.metadata.labels![STATEFULSET_POD_NAME_LABEL], 'db-1');
    assert.equal(out[1].resource.metadata.labels!.app, 'db');
  });

  it('defaults replicas to 1, honours 0, passes Pods through and ignores other kinds', () => {
    const noReplicas = pods(DEPLOYMENT.replace('  replicas: 3\n', ''));
    assert.equal(noReplicas.length, 1);
    assert.equal(pods(DEPLOYMENT.replace('replicas: 3', 'replicas: 0')).length, 0);
    const out = pods(`apiVersion: v1
kind: Pod
metadata: {name: curl}
spec: {containers: [{name: c, image: curl}]}
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: [{port: 80}]}
`);
    assert.deepEqual(out.map((p) => p.resource.metadata.name), ['curl']);
  });

  it('yields no pods for a controller without a usable template or replica count', () => {
    assert.equal(pods('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 2}\n').length, 0);
    assert.equal(pods(DEPLOYMENT.replace('replicas: 3', 'replicas: "three"')).length, 0);
  });
});
