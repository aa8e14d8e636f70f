import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadPaths, loadTexts } from '../../src/config/loader.js';
import { formatMessage } from '../../src/config/messages.js';
import { DEFAULT_MESH_CONFIG, meshConfigFrom, parseMeshConfig } from '../../src/config/mesh-config.js';
import { decodeSecret } from '../../src/config/secret.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sailfin-loader-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('loading resources', () => {
  it('reads multi-document YAML with the line of every object and field, defaulting the namespace', () => {
    const { resources, messages } = loadTexts([
      {
        file: 'm.yaml',
        text: `# comment
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, namespace: ignored}
---

apiVersion: v1
kind: Service
metadata:
  name: reviews
spec:
  ports:
  - name: http
    port: 9080
    targetPort: web
`,
      },
    ]);
    assert.deepEqual(messages, []);
    assert.equal(resources.length, 2);
    const [ns, svc] = resources;
    assert.equal(ns.resource.metadata.namespace, undefined, 'Namespace is cluster-scoped');
    assert.equal(ns.source.line, 3);
    assert.equal(svc.resource.metadata.namespace, 'default');
    assert.equal(svc.source.line, 8);
    assert.equal(svc.source.document, 1);
    assert.equal(svc.source.fieldLines?.get('spec.ports[0].targetPort'), 16);
  });

  it('reads JSON and unwraps List objects, each item with its own line', () => {
    const { resources } = loadTexts([
      { file: 'a.json', text: '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"sa","namespace":"shop"}}' },
      { file: 'l.yaml', text: 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: b}\n' },
    ]);
    assert.deepEqual(resources.map((r) => `${r.resource.metadata.namespace}/${r.resource.metadata.name}@${r.source.file}:${r.source.line}`), ['shop/sa@a.json:1', 'default/a@l.yaml:4', 'default/b@l.yaml:7']);
  });

  it('turns envelope problems into messages instead of dropping objects silently', () => {
    const { resources, messages } = loadTexts([
      {
        file: 'e.yaml',
        text: `- just a list
---
kind: Service
metadata: {name: a}
---
apiVersion: apps/v1beta1
kind: Deployment
metadata: {name: old}
---
apiVersion: v1
kind: ConfigMap
metadata: {labels: {a: b}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: x}
---
apiVersion: v1
kind: Service
metadata: {name: dup, labels: {a: 1}, labels: {b: 2}}
`,
      },
    ]);
    assert.deepEqual(resources, []);
    assert.deepEqual(messages.map(formatMessage), [
      'Error [SFN0002] (e.yaml:20) YAML syntax error in document 6: Map keys must be unique',
      'Error [IST0106] (e.yaml:1) Schema validation error: document is not a Kubernetes object (expected a mapping with apiVersion, kind and metadata)',
      'Error [IST0106] (e.yaml:3 apiVersion) Schema validation error: apiVersion is required (a non-empty string)',
      'Error [IST0106] (Deployment default/old e.yaml:6 apiVersion) Schema validation error: apiVersion "apps/v1beta1" is not served for kind Deployment; use apps/v1',
      'Error [IST0106] (ConfigMap  e.yaml:12 metadata.name) Schema validation error: ConfigMap: metadata.name is required',
      'Warning [SFN0003] (Widget x/w e.yaml:15 kind) Unknown kind Widget (apiVersion example.com/v1); Sailfin does not use it and ignores it',
    ]);
  });

  it('walks directories in sorted order, skipping hidden files, other extensions and symlink loops', async () => {
    const root = join(dir, 'tree');
    mkdirSync(join(root, 'b'), { recursive: true });
    mkdirSync(join(root, '.hidden'));
    writeFileSync(join(root, 'b', '2.yml'), 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: two}\n');
    writeFileSync(join(root, 'a.yaml'), 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: one}\n');
    writeFileSync(join(root, 'notes.txt'), 'not config');
    writeFileSync(join(root, '.hidden', 'x.yaml'), 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: hidden}\n');
    symlinkSync(root, join(root, 'b', 'loop'));
    const result = await loadPaths([root]);
    assert.deepEqual(result.messages, []);
    assert.deepEqual(result.resources.map((r) => r.resource.metadata.name), ['one', 'two']);
    assert.equal(result.files.length, 2);
  });

  it('enforces the size and count limits with a clear message', async () => {
    const file = join(dir, 'big.yaml');
    writeFileSync(file, `# ${'x'.repeat(2048)}\n`);
    const result = await loadPaths([file], { maxFileBytes: 1024 });
    assert.match(formatMessage(result.messages[0]), /^Error \[SFN0001\] \(.*big\.yaml\) file is 0\.0 MiB, larger than the 0\.0 MiB limit/);
    const missing = await loadPaths([join(dir, 'nope')]);
    assert.match(formatMessage(missing.messages[0]), /no such file or directory/);
  });
});

describe('mesh config', () => {
  it('reads the istio ConfigMap with defaults for what is not set', () => {
    const { resources } = loadTexts([
      {
        file: 'mesh.yaml',
        text: `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    outboundTrafficPolicy: {mode: REGISTRY_ONLY}
    trustDomain: example.org
    defaultConfig: {holdApplicationUntilProxyStarts: true}
`,
      },
    ]);
    const { config, messages } = meshConfigFrom(resources);
    assert.deepEqual(messages, []);
    assert.equal(config.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
    assert.equal(config.trustDomain, 'example.org');
    assert.equal(config.rootNamespace, 'istio-system');
    assert.equal(config.enableAutoMtls, true);
    assert.equal(config.defaultConfig.holdApplicationUntilProxyStarts, true);
    assert.equal(config.defaultConfig.proxyAdminPort, 15000);
    assert.equal(meshConfigFrom([]).config, DEFAULT_MESH_CONFIG);
  });

  it('reports bad values and keeps the defaults for them', () => {
    const { config, messages } = parseMeshConfig('outboundTrafficPolicy: {mode: SOMETIMES}\nenableAutoMtls: "yes"\nconnectTimeout: 10 seconds\n');
    assert.equal(config.outboundTrafficPolicy.mode, 'ALLOW_ANY');
    assert.equal(config.enableAutoMtls, true);
    assert.equal(config.connectTimeout, '10s');
    assert.equal(messages.length, 3);
    assert.match(messages[0].message, /outboundTrafficPolicy\.mode must be ALLOW_ANY or REGISTRY_ONLY/);
  });
});

describe('secrets', () => {
  it('decodes data as base64 and lets stringData win, flagging invalid base64', () => {
    const secret = decodeSecret({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': Buffer.from('CERT').toString('base64'), 'tls.key': 'not base64!', 'ca.crt': Buffer.from('old').toString('base64') },
      stringData: { 'ca.crt': 'NEW' },
    });
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.equal(secret.data.get('tls.crt')?.toString(), 'CERT');
    assert.equal(secret.data.get('ca.crt')?.toString(), 'NEW');
    assert.deepEqual(secret.invalidKeys, ['tls.key']);
  });
});
