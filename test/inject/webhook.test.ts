/**
 * The injection webhook over real HTTPS: AdmissionReviews as the API server sends them (no API
 * server can run here, so the test plays its part: it POSTs the review and applies the returned
 * JSONPatch to the pod, as the API server would), for each of Istio's injection rules.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MeshCa } from '../../src/ca/mesh-ca.js';
import { applyPatch, type JsonPatchOp } from '../../src/inject/json-patch.js';
import type { Pod } from '../../src/inject/pod.js';
import { injectValuesFor } from '../../src/inject/values.js';
import { WebhookServer, webhookDnsNames } from '../../src/inject/webhook-server.js';

const dir = mkdtempSync(join(tmpdir(), 'sailfin-webhook-'));
let ca: MeshCa;
let server: WebhookServer;
let canary: WebhookServer;
const namespaces: Record<string, Record<string, string>> = {
  enabled: { 'istio-injection': 'enabled' },
  disabled: { 'istio-injection': 'disabled' },
  plain: {},
  'rev-canary': { 'istio.io/rev': 'canary' },
  'kube-system': { 'istio-injection': 'enabled' },
};

interface Answer {
  status: number;
  review: { apiVersion: string; kind: string; response: { uid: string; allowed: boolean; patchType?: string; patch?: string; status?: { code?: number; message?: string } } };
}

function post(port: number, body: string, opts: { servername?: string; path?: string; contentType?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: opts.path ?? '/inject', method: 'POST', ca: ca.rootsPem, servername: opts.servername ?? 'istiod.istio-system.svc', headers: { 'content-type': opts.contentType ?? 'application/json' }, timeout: 10_000 },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, review: JSON.parse(text) as Answer['review'] });
          } catch {
            resolve({ status: res.statusCode ?? 0, review: { apiVersion: '', kind: '', response: { uid: '', allowed: false, status: { message: text } } } });
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('webhook request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

function review(pod: Pod, namespace: string, uid = 'uid-1'): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace, operation: 'CREATE', object: pod },
  });
}

function pod(extra: { labels?: Record<string, string>; annotations?: Record<string, string>; hostNetwork?: boolean } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'reviews-v1-7d9f8c-',
      labels: { app: 'reviews', version: 'v1', 'pod-template-hash': '7d9f8c', ...extra.labels },
      annotations: extra.annotations,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'reviews-v1-7d9f8c', controller: true }],
    },
    spec: {
      serviceAccountName: 'bookinfo-reviews',
      ...(extra.hostNetwork ? { hostNetwork: true } : {}),
      containers: [{ name: 'reviews', image: 'docker.io/istio/examples-bookinfo-reviews-v1:1.20.2', ports: [{ containerPort: 9080 }] }],
    },
  };
}

/** What the API server would store: the pod with the returned patch applied. */
async function admit(p: Pod, namespace: string, port = server.port): Promise<{ answer: Answer; pod: Pod; injected: boolean }> {
  const answer = await post(port, review(p, namespace));
  assert.equal(answer.status, 200);
  assert.equal(answer.review.kind, 'AdmissionReview');
  assert.equal(answer.review.response.uid, 'uid-1');
  if (!answer.review.response.patch) return { answer, pod: p, injected: false };
  assert.equal(answer.review.response.patchType, 'JSONPatch');
  const ops = JSON.parse(Buffer.from(answer.review.response.patch, 'base64').toString('utf8')) as JsonPatchOp[];
  return { answer, pod: applyPatch(p, ops), injected: true };
}

const names = (cs: { name: string }[] | undefined) => (cs ?? []).map((c) => c.name);

before(async () => {
  ca = await MeshCa.start({ stateDir: dir });
  const common = { ca, host: '127.0.0.1', port: 0, dnsNames: webhookDnsNames('istio-system'), namespaceLabels: (ns: string) => namespaces[ns] };
  server = new WebhookServer({ ...common, values: injectValuesFor('istio-system', { image: 'registry.example/sailfin:1.0' }) });
  canary = new WebhookServer({ ...common, values: injectValuesFor('istio-system', { revision: 'canary' }) });
  await server.start();
  await canary.start();
});

after(async () => {
  await server.close();
  await canary.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('injection webhook (the test stands in for the API server)', { timeout: 60_000 }, () => {
  test('a pod in an istio-injection=enabled namespace gets istio-init, istio-proxy, volumes, annotations and labels', async () => {
    const { pod: out, injected } = await admit(pod({ annotations: { 'traffic.sidecar.istio.io/excludeOutboundPorts': '3306', 'traffic.sidecar.istio.io/excludeInboundPorts': '8081' } }), 'enabled');
    assert.ok(injected);
    assert.deepEqual(names(out.spec?.containers), ['reviews', 'istio-proxy']);
    assert.deepEqual(names(out.spec?.initContainers), ['istio-init']);
    assert.deepEqual(names(out.spec?.volumes), ['istio-envoy', 'istio-data', 'istio-podinfo', 'istio-token', 'istiod-ca-cert']);
    const proxy = out.spec!.containers![1] as Record<string, any>;
    assert.equal(proxy.image, 'registry.example/sailfin:1.0');
    assert.equal(proxy.args[0], 'proxy');
    assert.equal(proxy.securityContext.runAsUser, 1337);
    assert.deepEqual(proxy.ports.map((p: { containerPort: number }) => p.containerPort), [15090, 15020, 15021]);
    assert.deepEqual(proxy.readinessProbe.httpGet, { path: '/healthz/ready', port: 15021 });
    const env = new Map<string, any>(proxy.env.map((e: { name: string }) => [e.name, e]));
    assert.equal(env.get('POD_NAME').valueFrom.fieldRef.fieldPath, 'metadata.name');
    assert.equal(env.get('POD_NAMESPACE').valueFrom.fieldRef.fieldPath, 'metadata.namespace');
    assert.equal(env.get('INSTANCE_IP').valueFrom.fieldRef.fieldPath, 'status.podIP');
    assert.equal(env.get('SERVICE_ACCOUNT').valueFrom.fieldRef.fieldPath, 'spec.serviceAccountName');
    assert.equal(env.get('ISTIO_META_WORKLOAD_NAME').value, 'reviews-v1');
    assert.equal(env.get('ISTIO_META_APP_CONTAINERS').value, 'reviews');
    const init = out.spec!.initContainers![0] as Record<string, any>;
    assert.equal(init.args[0], 'iptables');
    const flag = (f: string) => init.args[init.args.indexOf(f) + 1];
    assert.equal(flag('-u'), '1337');
    assert.equal(flag('-o'), '3306');
    assert.equal(flag('-d'), '15090,15021,15020,15000,8081');
    assert.deepEqual(init.securityContext.capabilities.add, ['NET_ADMIN', 'NET_RAW']);
    const status = JSON.parse(out.metadata!.annotations!['sidecar.istio.io/status']);
    assert.deepEqual(status.containers, ['istio-proxy']);
    assert.deepEqual(status.initContainers, ['istio-init']);
    assert.equal(out.metadata!.labels!['security.istio.io/tlsMode'], 'istio');
    assert.equal(out.metadata!.labels!['service.istio.io/canonical-name'], 'reviews');
    assert.equal(out.metadata!.labels!['service.istio.io/canonical-revision'], 'v1');
    assert.equal(out.metadata!.annotations!['kubectl.kubernetes.io/default-container'], 'reviews');
  });

  test('namespace and pod opt-outs, host network, kube-system and already-injected pods are left alone', async () => {
    assert.equal((await admit(pod(), 'disabled')).injected, false, 'istio-injection=disabled');
    assert.equal((await admit(pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), 'disabled')).injected, false, 'namespace disabled wins over pod true');
    assert.equal((await admit(pod({ labels: { 'sidecar.istio.io/inject': 'false' } }), 'enabled')).injected, false, 'pod label false');
    assert.equal((await admit(pod(), 'plain')).injected, false, 'unlabelled namespace, unlabelled pod');
    assert.equal((await admit(pod({ hostNetwork: true }), 'enabled')).injected, false, 'hostNetwork');
    assert.equal((await admit(pod(), 'kube-system')).injected, false, 'kube-system');
    const once = (await admit(pod(), 'enabled')).pod;
    assert.equal((await admit(once, 'enabled')).injected, false, 'already injected');
  });

  test('the pod label opts in from an unlabelled namespace, and wins over the legacy annotation', async () => {
    assert.equal((await admit(pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), 'plain')).injected, true);
    assert.equal((await admit(pod({ labels: { 'sidecar.istio.io/inject': 'true' }, annotations: { 'sidecar.istio.io/inject': 'false' } }), 'plain')).injected, true, 'label true beats annotation false');
    assert.equal((await admit(pod({ labels: { 'sidecar.istio.io/inject': 'false' }, annotations: { 'sidecar.istio.io/inject': 'true' } }), 'enabled')).injected, false, 'label false beats annotation true');
    assert.equal((await admit(pod({ annotations: { 'sidecar.istio.io/inject': 'false' } }), 'enabled')).injected, false, 'legacy annotation alone still opts out');
  });

  test('istio.io/rev selects the webhook of that revision only', async () => {
    assert.equal((await admit(pod(), 'rev-canary')).injected, false, 'default revision ignores a canary namespace');
    const viaCanary = await admit(pod(), 'rev-canary', canary.port);
    assert.equal(viaCanary.injected, true);
    assert.equal(JSON.parse(viaCanary.pod.metadata!.annotations!['sidecar.istio.io/status']).revision, 'canary');
    assert.equal((await admit(pod(), 'enabled', canary.port)).injected, false, 'istio-injection=enabled is the default revision');
    assert.equal((await admit(pod({ labels: { 'istio.io/rev': 'canary' } }), 'plain', canary.port)).injected, true, 'pod istio.io/rev');
  });

  test('resource, status-port, proxy-config and interception annotations shape the sidecar', async () => {
    const { pod: out } = await admit(
      pod({
        annotations: {
          'sidecar.istio.io/proxyCPU': '250m',
          'sidecar.istio.io/proxyMemory': '256Mi',
          'sidecar.istio.io/proxyMemoryLimit': '1Gi',
          'status.sidecar.istio.io/port': '15999',
          'proxy.istio.io/config': 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n',
          'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.0/8',
        },
      }),
      'enabled',
    );
    const proxy = out.spec!.containers![1] as Record<string, any>;
    assert.deepEqual(proxy.resources, { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } });
    assert.equal(proxy.readinessProbe.httpGet.port, 15999);
    assert.ok(proxy.env.some((e: { name: string; value?: string }) => e.name === 'ISTIO_META_DNS_CAPTURE' && e.value === 'true'));
    const init = out.spec!.initContainers![0] as Record<string, any>;
    assert.equal(init.args[init.args.indexOf('-i') + 1], '10.0.0.0/8');
    assert.ok(init.args[init.args.indexOf('-d') + 1].split(',').includes('15999'));
    const none = await admit(pod({ annotations: { 'sidecar.istio.io/interceptionMode': 'NONE' } }), 'enabled');
    assert.deepEqual(names(none.pod.spec?.initContainers), [], 'interceptionMode NONE: no capture init container');
    assert.deepEqual(names(none.pod.spec?.containers), ['reviews', 'istio-proxy']);
  });

  test('an unusable annotation refuses the pod with the reason; a malformed review gets a 400 AdmissionReview', async () => {
    const bad = await post(server.port, review(pod({ annotations: { 'traffic.sidecar.istio.io/excludeOutboundPorts': 'mysql' } }), 'enabled'));
    assert.equal(bad.status, 200);
    assert.equal(bad.review.response.allowed, false);
    assert.match(bad.review.response.status?.message ?? '', /excludeOutboundPorts.*"mysql" is not a port number/);
    for (const body of ['{not json', '[]', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: { kind: 'Pod' } } })]) {
      const answer = await post(server.port, body);
      assert.equal(answer.status, 400, body);
      assert.equal(answer.review.kind, 'AdmissionReview');
      assert.equal(answer.review.response.allowed, false);
      assert.ok(answer.review.response.status?.message);
    }
    assert.equal((await post(server.port, review(pod(), 'enabled'), { contentType: 'text/plain' })).status, 415);
    assert.equal((await post(server.port, review(pod(), 'enabled'), { path: '/other' })).status, 404);
    const other = await post(server.port, JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u2', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, operation: 'CREATE', object: {} } }));
    assert.deepEqual(other.review.response, { uid: 'u2', allowed: true });
    // and the server still answers after all that
    assert.equal((await admit(pod(), 'enabled')).injected, true);
  });

  test("the serving certificate is the mesh CA's, for the control plane's Service names only", async () => {
    assert.equal((await post(server.port, review(pod(), 'enabled'), { servername: 'sailfin.istio-system.svc' })).status, 200);
    await assert.rejects(post(server.port, review(pod(), 'enabled'), { servername: 'evil.example.com' }), /altnames|Hostname/i);
  });
});
