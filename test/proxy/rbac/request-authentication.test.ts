import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { parse } from 'yaml';
import type { LoadedResource } from '../../../src/config/resource.js';
import type { JsonObject } from '../../../src/proxy/config/fields.js';
import { jwtAuthnFilter, requestAuthenticationsFor } from '../../../src/pilot/security/request-authentication.js';
import { compileJwtAuthn } from '../../../src/proxy/rbac/jwt/jwt-authn-config.js';
import { encodeEnvoyJson } from '../../../src/xds/envoy-json.js';

function resources(yamlText: string): LoadedResource[] {
  return yamlText
    .split(/^---$/m)
    .map((d) => parse(d))
    .filter(Boolean)
    .map((resource, i) => ({ resource, source: { file: 'test.yaml', document: i } }));
}

const jwks = JSON.stringify({ keys: [{ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] });

const YAML = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt-example, namespace: foo}
spec:
  selector: {matchLabels: {app: httpbin}}
  jwtRules:
  - issuer: testing@secure.istio.io
    jwks: '${jwks}'
    audiences: [app-a]
    fromHeaders: [{name: x-jwt, prefix: "Token "}]
    fromParams: [tok]
    outputPayloadToHeader: x-jwt-payload
    forwardOriginalToken: true
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: mesh-wide, namespace: istio-system}
spec:
  jwtRules:
  - issuer: https://accounts.example.com
    jwksUri: https://accounts.example.com/.well-known/jwks.json
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: other-app, namespace: foo}
spec:
  selector: {matchLabels: {app: other}}
  jwtRules: [{issuer: nobody, jwksUri: "https://nobody/jwks"}]
`;

describe('RequestAuthentication → jwt_authn', () => {
  const selected = requestAuthenticationsFor(resources(YAML), 'istio-system', 'foo', { app: 'httpbin' });
  const filter = jwtAuthnFilter(selected)!;
  const tc = filter.typed_config as JsonObject;

  it('selects the workload\'s and the root namespace\'s policies only', () => {
    assert.deepEqual(selected.map((s) => `${s.namespace}/${s.name}`), ['foo/jwt-example', 'istio-system/mesh-wide']);
  });

  it('builds one provider per rule and lets requests without a token through (allow_missing)', () => {
    const providers = tc.providers as Record<string, JsonObject>;
    assert.deepEqual(Object.keys(providers), ['origins-0', 'origins-1']);
    assert.deepEqual(providers['origins-0'], {
      issuer: 'testing@secure.istio.io',
      audiences: ['app-a'],
      local_jwks: { inline_string: jwks },
      from_headers: [{ name: 'x-jwt', value_prefix: 'Token ' }],
      from_params: ['tok'],
      forward: true,
      forward_payload_header: 'x-jwt-payload',
      payload_in_metadata: 'testing@secure.istio.io',
    });
    assert.deepEqual((providers['origins-1'].remote_jwks as JsonObject).http_uri, { uri: 'https://accounts.example.com/.well-known/jwks.json', cluster: 'outbound|443||accounts.example.com', timeout: '5s' });
    assert.deepEqual(tc.rules, [{ match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'origins-0' }, { provider_name: 'origins-1' }, { allow_missing: {} }] } } }]);
  });

  it('encodes with the real Envoy proto and compiles in the Sailfin proxy', () => {
    const { ['@type']: type, ...body } = tc;
    assert.equal(type, 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication');
    assert.doesNotThrow(() => encodeEnvoyJson('envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication', body));
    const compiled = compileJwtAuthn(tc, 'jwt');
    assert.equal(compiled.providers.size, 2);
    assert.equal(compiled.bypassCorsPreflight, true);
  });

  it('no filter when no rule has a key source', () => {
    assert.equal(jwtAuthnFilter(requestAuthenticationsFor(resources(YAML), 'istio-system', 'bar', {}).filter((p) => p.namespace === 'bar')), undefined);
  });
});
