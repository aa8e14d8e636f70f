/**
 * The cluster install: `sailfin install --dry-run` prints parseable manifests with the expected
 * objects; the committed deploy/ files are what the code generates; the Helm chart, rendered by a
 * tiny stand-in for helm (helm itself cannot be installed here: it substitutes values and honours
 * the one `if` the chart uses), gives the same objects as `sailfin install`; and `--kubeconfig`
 * server-side-applies them to the stand-in API server (test/kube/fake-api-server.ts, standing in
 * for a real one), twice without harm and without dropping the caBundle the leader wrote.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { helmChartFiles } from '../../src/kube/install/helm-chart.js';
import { installManifests, toYaml } from '../../src/kube/install/manifests.js';
import { DEFAULT_INSTALL_VALUES, applySettings } from '../../src/kube/install/values.js';
import { FakeApiServer } from './fake-api-server.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/sailfin');
type Obj = Record<string, any>;

function sailfin(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(BIN, args, { encoding: 'utf8', timeout: 45_000 });
}

/** Async, so the stand-in API server in this process can answer while the command runs. */
function sailfinAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(BIN, args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

function docs(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => {
      assert.equal(d.errors.length, 0, d.errors.map((e) => e.message).join('; '));
      return d.toJS() as Obj;
    })
    .filter((d) => d !== null);
}

test('sailfin install --dry-run prints CRDs, RBAC, istiod, the webhook configuration and the gateway', { timeout: 60_000 }, () => {
  const run = sailfin(['install', '--dry-run', '--set', 'image=registry.example/sailfin:1.2', '--set', 'pilot.replicas=3']);
  assert.equal(run.status, 0, run.stderr);
  const objects = docs(run.stdout);
  const count = (kind: string) => objects.filter((o) => o.kind === kind).length;
  assert.equal(count('CustomResourceDefinition'), 12);
  for (const kind of ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'MutatingWebhookConfiguration']) assert.equal(count(kind), 1, kind);
  for (const kind of ['ServiceAccount', 'Deployment', 'Service']) assert.equal(count(kind), 2, kind);
  const crd = objects.find((o) => o.metadata.name === 'virtualservices.networking.istio.io')!;
  assert.deepEqual(crd.spec.versions.map((v: Obj) => [v.name, v.served, v.storage]), [['v1alpha3', true, true], ['v1beta1', true, false], ['v1', true, false]]);
  assert.equal(crd.spec.versions[2].schema.openAPIV3Schema.properties.spec['x-kubernetes-preserve-unknown-fields'], true);
  assert.ok(objects.find((o) => o.metadata.name === 'authorizationpolicies.security.istio.io')!.spec.versions.some((v: Obj) => v.name === 'v1'));
  const istiod = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'istiod')!;
  assert.equal(istiod.spec.replicas, 3);
  assert.equal(istiod.spec.template.spec.containers[0].image, 'registry.example/sailfin:1.2');
  assert.deepEqual(istiod.spec.template.spec.containers[0].args.slice(0, 2), ['discovery', '--in-cluster']);
  const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'istiod')!;
  assert.deepEqual(svc.spec.ports.map((p: Obj) => `${p.port}->${p.targetPort}`), ['15010->15010', '15012->15012', '443->15017', '15014->15014', '15017->15017']);
  const webhook = objects.find((o) => o.kind === 'MutatingWebhookConfiguration')!;
  assert.equal(webhook.metadata.name, 'istio-sidecar-injector');
  assert.deepEqual(webhook.webhooks[0].namespaceSelector.matchExpressions, [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }]);
  assert.equal(webhook.webhooks[0].clientConfig.service.path, '/inject');
  const role = objects.find((o) => o.kind === 'ClusterRole')!;
  assert.ok(role.rules.some((r: Obj) => r.apiGroups.includes('coordination.k8s.io') && r.verbs.includes('update')), 'leases for leader election');
  const gw = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'istio-ingressgateway')!;
  assert.equal(gw.spec.type, 'LoadBalancer');
  const bad = sailfin(['install', '-o', 'json', '--set', 'pilot.replicas=many']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--set: pilot\.replicas must be a whole number/);
  assert.throws(() => applySettings(DEFAULT_INSTALL_VALUES, ['nope=1']), /unknown setting "nope"/);
  assert.throws(() => applySettings(DEFAULT_INSTALL_VALUES, ['gateway.enabled=yes']), /true or false/);
});

test('deploy/ holds what the code generates (regenerate with sailfin install)', () => {
  assert.equal(readFileSync(join(ROOT, 'deploy/sailfin.yaml'), 'utf8'), toYaml(installManifests(DEFAULT_INSTALL_VALUES)), 'run: bin/sailfin install > deploy/sailfin.yaml');
  for (const [file, text] of helmChartFiles()) {
    assert.equal(readFileSync(join(ROOT, 'deploy/helm/sailfin', file), 'utf8'), text, `run: bin/sailfin install --write-helm-chart deploy/helm/sailfin (${file} differs)`);
  }
});

/** Enough of helm template for this chart: {{ .Values.x.y }}, {{ .Release.Namespace }}, {{- if .Values.x }} … {{- end }}. */
function renderChart(dir: string, values: Obj, namespace: string): Obj[] {
  const lookup = (path: string) => path.split('.').reduce((o: any, k) => o?.[k], values);
  const out: Obj[] = [];
  for (const file of ['templates/control-plane.yaml', 'templates/ingress-gateway.yaml']) {
    let text = readFileSync(join(dir, file), 'utf8');
    text = text.replace(/\{\{- if \.Values\.([\w.]+) \}\}\n([\s\S]*?)\{\{- end \}\}\n/g, (_m, path: string, body: string) => (lookup(path) ? body : ''));
    text = text.replace(/\{\{ \.Release\.Namespace \}\}/g, namespace).replace(/\{\{ \.Values\.([\w.]+) \}\}/g, (_m, path: string) => String(lookup(path)));
    assert.doesNotMatch(text, /\{\{/, `${file} uses template syntax the stand-in renderer does not know`);
    out.push(...docs(text));
  }
  return out;
}

test('the Helm chart renders to the same objects as sailfin install, with values applied', () => {
  const dir = join(ROOT, 'deploy/helm/sailfin');
  const chart = parse(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as Obj;
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'sailfin');
  const values = parse(readFileSync(join(dir, 'values.yaml'), 'utf8')) as Obj;
  const expected = (v: typeof DEFAULT_INSTALL_VALUES) => installManifests(v).filter((o) => o.kind !== 'CustomResourceDefinition' && o.kind !== 'Namespace');
  assert.deepEqual(renderChart(dir, values, 'istio-system'), JSON.parse(JSON.stringify(expected(DEFAULT_INSTALL_VALUES))));
  const custom = { ...values, image: 'example/sailfin:9', pilot: { ...values.pilot, replicas: 2, webhookPort: 9443 }, gateway: { ...values.gateway, enabled: false } };
  const rendered = renderChart(dir, custom, 'mesh');
  const want = applySettings({ ...DEFAULT_INSTALL_VALUES, namespace: 'mesh' }, ['image=example/sailfin:9', 'pilot.replicas=2', 'pilot.webhookPort=9443', 'gateway.enabled=false']);
  assert.deepEqual(rendered, JSON.parse(JSON.stringify(expected(want))));
  assert.ok(!rendered.some((o) => o.metadata.name === 'istio-ingressgateway'), 'gateway.enabled=false drops the gateway');
  const crds = docs(readFileSync(join(dir, 'crds/istio-crds.yaml'), 'utf8'));
  assert.equal(crds.length, 12);
});

test('sailfin install --kubeconfig applies every object with server-side apply, idempotently', { timeout: 90_000 }, async () => {
  const api = new FakeApiServer();
  const server = await api.start();
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-install-'));
  try {
    const kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 's', cluster: { server, 'insecure-skip-tls-verify': true } }], users: [{ name: 'u', user: { token: 't' } }], contexts: [{ name: 'c', context: { cluster: 's', user: 'u' } }], 'current-context': 'c' }));
    const first = await sailfinAsync(['install', '--kubeconfig', kubeconfig, '--set', 'gateway.replicas=2']);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /deployment\/istiod \(istio-system\) created/);
    const patches = api.requests.filter((r) => r.startsWith('PATCH '));
    assert.equal(patches.length, 23);
    assert.ok(patches.every((r) => r.includes('fieldManager=sailfin') && r.includes('force=true')));
    assert.ok(api.get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', undefined, 'gateways.networking.istio.io'));
    assert.equal((api.get('/apis/apps/v1/deployments', 'istio-system', 'istio-ingressgateway') as Obj).spec.replicas, 2);
    // The control-plane leader fills caBundle; installing again must keep it.
    const path = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
    const config = api.get(path, undefined, 'istio-sidecar-injector') as Obj;
    config.webhooks[0].clientConfig.caBundle = 'Y2E=';
    api.put(path, config as never);
    const second = await sailfinAsync(['install', '--kubeconfig', kubeconfig]);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /deployment\/istiod \(istio-system\) applied/);
    assert.equal((api.get(path, undefined, 'istio-sidecar-injector') as Obj).webhooks[0].clientConfig.caBundle, 'Y2E=');
  } finally {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
