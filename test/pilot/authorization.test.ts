import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject } from '../../src/proxy/config/fields.js';
import { policiesFor, rbacFilters } from '../../src/pilot/security/authorization.js';
import { mtlsModeFor } from '../../src/pilot/security/peer-authentication.js';
import { encodeEnvoyJson } from '../../src/xds/envoy-json.js';
import { resources } from './bookinfo-fixture.js';

const HTTP_RBAC = 'envoy.extensions.filters.http.rbac.v3.RBAC';
const NET_RBAC = 'envoy.extensions.filters.network.rbac.v3.RBAC';

function valid(filters: JsonObject[]): void {
  for (const f of filters) {
    const tc = f.typed_config as JsonObject;
    const type = String(tc['@type']).split('/')[1];
    const { ['@type']: _t, ...body } = tc;
    assert.doesNotThrow(() => encodeEnvoyJson(type, body), `${f.name} is not a valid ${type}`);
  }
}

const policies = (yaml: string, ns: string, labels: Record<string, string>) => policiesFor(resources(yaml), 'istio-system', ns, labels);

describe('AuthorizationPolicy → RBAC', () => {
  it('spec: {} is an ALLOW filter with no policies: everything is denied', () => {
    const f = rbacFilters(policies('apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow-nothing, namespace: default}\nspec: {}\n', 'default', { app: 'x' }), 'http');
    assert.equal(f.length, 1);
    assert.deepEqual((f[0].typed_config as JsonObject).rules, { action: 'ALLOW', policies: {} });
    valid(f);
  });

  it('DENY comes before ALLOW; principals, methods, paths and header conditions translate', () => {
    const yaml = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-path-ip, namespace: foo}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: ALLOW
  rules:
  - from: [{source: {principals: ["cluster.local/ns/default/sa/curl"], namespaces: ["default"]}}]
    to: [{operation: {paths: ["/ip", "/status/*"], methods: [GET]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-method-get, namespace: foo}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: DENY
  rules:
  - to: [{operation: {methods: [GET]}}]
    when: [{key: "request.headers[x-token]", notValues: [admin]}]
`;
    const f = rbacFilters(policies(yaml, 'foo', { app: 'httpbin' }), 'http');
    assert.deepEqual(f.map((x) => ((x.typed_config as JsonObject).rules as JsonObject).action), ['DENY', 'ALLOW']);
    valid(f);
    const allow = (((f[1].typed_config as JsonObject).rules as JsonObject).policies as Record<string, JsonObject>)['ns[foo]-policy[allow-path-ip]-rule[0]'];
    const text = JSON.stringify(allow);
    assert.match(text, /"principal_name":\{"exact":"spiffe:\/\/cluster.local\/ns\/default\/sa\/curl"\}/);
    assert.match(text, /"url_path":\{"path":\{"exact":"\/ip"\}\}/);
    assert.match(text, /"url_path":\{"path":\{"prefix":"\/status\/"\}\}/);
    assert.match(text, /"name":":method","string_match":\{"exact":"GET"\}/);
    const deny = JSON.stringify((((f[0].typed_config as JsonObject).rules as JsonObject).policies as JsonObject));
    assert.match(deny, /"not_id":\{"header":\{"name":"x-token","string_match":\{"exact":"admin"\}\}\}/);
    assert.equal(rbacFilters(policies(yaml, 'foo', { app: 'other' }), 'http').length, 0, 'the selector limits the policies to httpbin');
  });

  it('on TCP chains an ALLOW rule needing HTTP attributes is dropped (fail closed), a DENY rule keeps its L4 part', () => {
    const yaml = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: a, namespace: default}
spec:
  action: ALLOW
  rules:
  - to: [{operation: {methods: [GET], ports: ["9000"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: d, namespace: default}
spec:
  action: DENY
  rules:
  - from: [{source: {ipBlocks: ["10.88.0.0/24"]}}]
    to: [{operation: {methods: [POST]}}]
`;
    const f = rbacFilters(policies(yaml, 'default', {}), 'tcp');
    valid(f);
    const [deny, allow] = f.map((x) => ((x.typed_config as JsonObject).rules as JsonObject).policies as Record<string, JsonObject>);
    assert.deepEqual(Object.keys(allow), []);
    assert.match(JSON.stringify(deny), /"direct_remote_ip":\{"address_prefix":"10.88.0.0","prefix_len":24\}/);
    assert.doesNotMatch(JSON.stringify(deny), /:method/);
  });
});

describe('PeerAuthentication mode', () => {
  const yaml = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: legacy}
spec: {mtls: {mode: PERMISSIVE}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: httpbin, namespace: foo}
spec:
  selector: {matchLabels: {app: httpbin}}
  mtls: {mode: UNSET}
  portLevelMtls: {"8080": {mode: DISABLE}}
`;
  it('workload > namespace > mesh, UNSET inherits, port-level only with a selector', () => {
    const pa = resources(yaml);
    assert.equal(mtlsModeFor(pa, 'istio-system', 'default', {}), 'STRICT');
    assert.equal(mtlsModeFor(pa, 'istio-system', 'legacy', {}), 'PERMISSIVE');
    assert.equal(mtlsModeFor(pa, 'istio-system', 'foo', { app: 'httpbin' }, 8080), 'DISABLE');
    assert.equal(mtlsModeFor(pa, 'istio-system', 'foo', { app: 'httpbin' }, 80), 'STRICT');
    assert.equal(mtlsModeFor([], 'istio-system', 'foo', {}), 'PERMISSIVE');
  });

  it('a selector with empty matchLabels is namespace-wide, as in Istio', () => {
    const pa = resources(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: all, namespace: bar}
spec:
  selector: {matchLabels: {}}
  mtls: {mode: STRICT}
`);
    assert.equal(mtlsModeFor(pa, 'istio-system', 'bar', { app: 'any' }), 'STRICT');
    assert.equal(mtlsModeFor(pa, 'istio-system', 'other', {}), 'PERMISSIVE');
  });
});
