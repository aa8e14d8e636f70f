/**
 * neverInjectSelector / alwaysInjectSelector from the `istio-sidecar-injector` ConfigMap, over real
 * AdmissionReviews to the webhook (no API server can run here: the test POSTs the reviews as the API
 * server would). Istio's order: the pod's own `sidecar.istio.io/inject` first, then never, then always,
 * then the policy; the ConfigMap is read per review, so edits apply to the next pod.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MeshCa } from '../../src/ca/mesh-ca.js';
import type { LoadedResource } from '../../src/config/resource.js';
import { followInjectorConfig, parseInjectorConfig } from '../../src/inject/injector-config.js';
import { injectValuesFor } from '../../src/inject/values.js';
import { WebhookServer, webhookDnsNames } from '../../src/inject/webhook-server.js';

const dir = mkdtempSync(join(tmpdir(), 'sailfin-selectors-'));
let ca: MeshCa;
let server: WebhookServer;
let configMap: LoadedResource | undefined;
const logs: string[] = [];

function injectorConfigMap(config: string): LoadedResource {
  return { resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-sidecar-injector', namespace: 'istio-system' }, data: { config } }, source: { file: 'k8s://ConfigMap/istio-system/istio-sidecar-injector' } };
}

/** Whether the webhook injects a pod with these labels (and annotations) in an istio-injection=enabled namespace. */
function injects(labels: Record<string, string>, annotations: Record<string, string> = {}): Promise<boolean> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'apps', operation: 'CREATE', object: { metadata: { name: 'p', labels, annotations }, spec: { containers: [{ name: 'app', image: 'app' }] } } },
  });
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: server.port, path: '/inject', method: 'POST', ca: ca.rootsPem, servername: 'istiod.istio-system.svc', headers: { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
      let t = '';
      res.on('data', (c: Buffer) => (t += c.toString()));
      res.on('end', () => {
        const review = JSON.parse(t) as { response: { allowed: boolean; patch?: string } };
        assert.equal(review.response.allowed, true);
        resolve(review.response.patch !== undefined);
      });
    });
    req.on('timeout', () => req.destroy(new Error('webhook request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  ca = await MeshCa.start({ stateDir: dir });
  const values = followInjectorConfig(injectValuesFor('istio-system'), () => configMap, (m) => logs.push(m));
  server = new WebhookServer({ ca, host: '127.0.0.1', port: 0, dnsNames: webhookDnsNames('istio-system'), namespaceLabels: () => ({ 'istio-injection': 'enabled' }), values });
  await server.start();
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('neverInjectSelector wins over alwaysInjectSelector; the pod\'s own sidecar.istio.io/inject wins over both', { timeout: 30_000 }, async () => {
  configMap = injectorConfigMap(`
policy: enabled
neverInjectSelector:
  - {}
  - matchLabels: {app: batch}
  - matchExpressions: [{key: job-name, operator: Exists}]
alwaysInjectSelector:
  - matchLabels: {app: batch, tier: web}
template: "ignored: Istio's own container template"
`);
  assert.equal(await injects({ app: 'web' }), true, 'no selector matches: the policy (enabled) decides; the empty selector matches nothing');
  assert.equal(await injects({ app: 'batch' }), false, 'neverInjectSelector[1]');
  assert.equal(await injects({ app: 'web', 'job-name': 'nightly' }), false, 'neverInjectSelector[2], an Exists expression');
  assert.equal(await injects({ app: 'batch', tier: 'web' }), false, 'never wins over always');
  assert.equal(await injects({ app: 'batch', 'sidecar.istio.io/inject': 'true' }), true, 'the pod label wins over never');
  assert.equal(await injects({ app: 'batch' }, { 'sidecar.istio.io/inject': 'true' }), true, 'so does the legacy annotation');
});

test('under policy disabled, alwaysInjectSelector opts pods in unless they opt out themselves', { timeout: 30_000 }, async () => {
  configMap = injectorConfigMap(`
policy: disabled
neverInjectSelector:
  - matchExpressions: [{key: tier, operator: In, values: [db]}]
alwaysInjectSelector:
  - matchExpressions: [{key: app, operator: In, values: [legacy, reports]}, {key: tier, operator: NotIn, values: [cache]}]
`);
  assert.equal(await injects({ app: 'web' }), false, 'policy disabled');
  assert.equal(await injects({ app: 'legacy' }), true, 'alwaysInjectSelector (In, and NotIn of an absent label)');
  assert.equal(await injects({ app: 'legacy', tier: 'cache' }), false, 'NotIn excludes');
  assert.equal(await injects({ app: 'reports', tier: 'db' }), false, 'never before always');
  assert.equal(await injects({ app: 'legacy' }, { 'sidecar.istio.io/inject': 'false' }), false, 'the pod opts out');
});

test('an invalid edit keeps the last valid config; without the ConfigMap the built-in values apply', { timeout: 30_000 }, async () => {
  configMap = injectorConfigMap('policy: enabled\nneverInjectSelector: [{matchLabels: {app: batch}}]\n');
  assert.equal(await injects({ app: 'batch' }), false);
  configMap = injectorConfigMap('neverInjectSelector: [{matchExpressions: [{key: app, operator: Has}]}]\n');
  assert.equal(await injects({ app: 'batch' }), false, 'the previous selectors stay in force');
  assert.ok(logs.some((l) => l.includes('data.config.neverInjectSelector[0].matchExpressions[0].operator')), logs.join('\n'));
  configMap = undefined;
  assert.equal(await injects({ app: 'batch' }), true, 'no ConfigMap: policy enabled, no selectors');
});

test('parse errors name the ConfigMap and the field', () => {
  assert.throws(() => parseInjectorConfig(injectorConfigMap('policy: sometimes\n')), (e: Error & { describe?: () => string }) => /k8s:\/\/ConfigMap\/istio-system\/istio-sidecar-injector: data\.config\.policy: must be "enabled" or "disabled"/.test(e.describe!()));
  assert.throws(() => parseInjectorConfig(injectorConfigMap('alwaysInjectSelector: [{matchExpressions: [{key: a, operator: In}]}]\n')), /In needs values/);
  assert.throws(() => parseInjectorConfig(injectorConfigMap('alwaysInjectSelector: [{matchLabel: {a: b}}]\n')), /unknown field "matchLabel"/);
});

test('following the same values twice: no redefinition error, and each falls back to the values as given', () => {
  const given = injectValuesFor('istio-system');
  let cm: LoadedResource | undefined = injectorConfigMap('policy: disabled\n');
  const first = followInjectorConfig(given, () => cm);
  assert.equal(first.policy, 'disabled');
  const second = followInjectorConfig(given, () => cm);
  cm = undefined;
  assert.equal(second.policy, given.policy, 'the built-in policy, not the first follower\'s ConfigMap one');
  assert.equal(given.policy, 'enabled', 'the caller\'s values are left as they were');
});
