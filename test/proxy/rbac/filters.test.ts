/**
 * The rbac and jwt_authn HTTP filters inside a real HCM on a loopback listener (the in-process HTTP
 * harness): per-route RBAC, LOG and shadow rules, every jwt_authn requirement kind, algorithm, token
 * location and output, and configs that must be refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, constants, type KeyObject } from 'node:crypto';
import * as http2 from 'node:http2';
import type { JsonObject } from '../../../src/proxy/config/fields.js';
import { SailfinError } from '../../../src/common/errors.js';
import { compileJwtAuthn } from '../../../src/proxy/rbac/jwt/jwt-authn-config.js';
import { closeAgent, request, simpleHcm, startBackend, startProxy, staticCluster, type Backend, type TestProxy } from '../http/harness.js';

const RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const RBAC_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
const JWT = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const jwk = (k: KeyObject, extra: object) => ({ ...k.export({ format: 'jwk' }), ...extra });
const JWKS = JSON.stringify({ keys: [jwk(rsa.publicKey, { kid: 'r' }), jwk(ec384.publicKey, { kid: 'e', alg: 'ES384' }), { kty: 'oct', k: 'c2VjcmV0' }] });

function token(claims: Record<string, unknown>, opts: { alg?: string; key?: KeyObject; kid?: string } = {}): string {
  const alg = opts.alg ?? 'RS256';
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg, kid: opts.kid ?? (alg.startsWith('ES') ? 'e' : 'r') })}.${enc({ exp: now + 300, ...claims })}`;
  const hash = 'sha' + alg.slice(2);
  const key = opts.key ?? (alg.startsWith('ES') ? ec384.privateKey : rsa.privateKey);
  const s = alg.startsWith('ES') ? sign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }) : alg.startsWith('PS') ? sign(hash, Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }) : sign(hash, Buffer.from(input), key);
  return `${input}.${s.toString('base64url')}`;
}

const principalIs = (p: string): JsonObject => ({ metadata: { filter: 'istio_authn', path: [{ key: 'request.auth.principal' }], value: { string_match: { exact: p } } } });
const rbac = (name: string, rules: JsonObject, extra: JsonObject = {}): JsonObject => ({ name, typed_config: { '@type': RBAC, rules, ...extra } });
const allowIf = (principal: JsonObject, permission: JsonObject = { any: true }): JsonObject => ({ action: 'ALLOW', policies: { p: { permissions: [permission], principals: [principal] } } });

let backend: Backend;
const proxies: TestProxy[] = [];

async function proxyWith(filters: JsonObject[], routes?: JsonObject[]): Promise<TestProxy> {
  const rc = { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: routes ?? [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] };
  const p = await startProxy(simpleHcm(rc, {}, filters), [staticCluster('app', [backend.port])]);
  proxies.push(p);
  return p;
}

before(async () => {
  backend = await startBackend('app');
});

after(async () => {
  for (const p of proxies) await p.close();
  await backend.close();
  closeAgent();
});

/** Headers of the last request the app received. */
const seenHeaders = (): Record<string, string> => backend.requests[backend.requests.length - 1].headers as Record<string, string>;

describe('http rbac filter', () => {
  it('RBACPerRoute turns the filter off on a route or replaces its rules', async () => {
    const p = await proxyWith([rbac('envoy.filters.http.rbac', { action: 'ALLOW', policies: {} })], [
      { match: { prefix: '/public' }, route: { cluster: 'app' }, typed_per_filter_config: { 'envoy.filters.http.rbac': { '@type': RBAC_PER_ROUTE } } },
      {
        match: { prefix: '/custom' },
        route: { cluster: 'app' },
        typed_per_filter_config: { 'envoy.filters.http.rbac': { '@type': RBAC_PER_ROUTE, rbac: { rules: allowIf({ header: { name: 'x-ok', present_match: true } }) } } },
      },
      { match: { prefix: '/' }, route: { cluster: 'app' } },
    ]);
    assert.equal((await request(p.port, '/public/a')).status, 200);
    assert.equal((await request(p.port, '/private')).status, 403);
    assert.equal((await request(p.port, '/custom')).status, 403);
    assert.equal((await request(p.port, '/custom', { headers: { 'x-ok': '1' } })).status, 200);
  });

  it('a denied gRPC call over HTTP/2 gets grpc-status 7 (PERMISSION_DENIED)', async () => {
    const p = await proxyWith([rbac('envoy.filters.http.rbac', { action: 'ALLOW', policies: {} })]);
    const client = http2.connect(`http://127.0.0.1:${p.port}`);
    try {
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = client.request({ ':method': 'POST', ':path': '/pkg.Svc/Call', 'content-type': 'application/grpc' });
        req.on('response', resolve);
        req.on('error', reject);
        req.setTimeout(5000, () => reject(new Error('timeout')));
        req.end();
      });
      assert.equal(headers[':status'], 200);
      assert.equal(headers['grpc-status'], '7');
      assert.equal(decodeURIComponent(String(headers['grpc-message'])), 'RBAC: access denied');
    } finally {
      client.close();
    }
  });

  it('LOG never blocks; shadow rules are counted, not enforced', async () => {
    const p = await proxyWith([
      rbac('log', { action: 'LOG', policies: { all: { permissions: [{ any: true }], principals: [{ any: true }] } } }),
      rbac('shadow', { action: 'DENY', policies: {} }, { shadow_rules: { action: 'ALLOW', policies: {} }, rules_stat_prefix: 'enf_' }),
    ]);
    assert.equal((await request(p.port, '/x')).status, 200);
    const counters = [...p.stats.counters.values()].filter((c) => c.name.includes('.rbac.')).map((c) => `${c.name}=${c.value}`);
    assert.ok(counters.includes('http.test.rbac.shadow_denied=1'), counters.join(' '));
    assert.ok(counters.includes('http.test.rbac.enf_allowed=1'), counters.join(' '));
    assert.ok(counters.includes('http.test.rbac.logged=1'), counters.join(' '));
  });
});

describe('jwt_authn filter', () => {
  let p: TestProxy;
  let fetchFail: TestProxy;
  before(async () => {
    const providers: JsonObject = {
      main: { issuer: 'iss-main', audiences: ['svc-a'], local_jwks: { inline_string: JWKS }, forward_payload_header: 'x-payload', claim_to_headers: [{ header_name: 'x-user', claim_name: 'sub' }] },
      custom: { issuer: 'iss-custom', local_jwks: { inline_string: JWKS }, from_headers: [{ name: 'x-jwt', value_prefix: 'Token ' }], from_params: ['jwt'], forward: true, require_expiration: true },
    };
    const jwtFilter = (rules: JsonObject[]): JsonObject => ({ name: 'envoy.filters.http.jwt_authn', typed_config: { '@type': JWT, providers, rules } });
    p = await proxyWith([
      jwtFilter([
        { match: { prefix: '/strict' }, requires: { provider_name: 'main' } },
        { match: { prefix: '/lenient' }, requires: { allow_missing_or_failed: {} } },
        { match: { prefix: '/either' }, requires: { allow_missing: {} } },
        { match: { prefix: '/both' }, requires: { requires_all: { requirements: [{ provider_name: 'main' }, { provider_name: 'custom' }] } } },
        { match: { prefix: '/' }, requires: { requires_any: { requirements: [{ provider_name: 'main' }, { provider_name: 'custom' }, { allow_missing: {} }] } } },
      ]),
      rbac('envoy.filters.http.rbac', {
        action: 'DENY',
        policies: { 'need-alice': { permissions: [{ url_path: { path: { prefix: '/who/' } } }], principals: [{ not_id: principalIs('iss-main/alice') }] } },
      }),
    ]);
    fetchFail = await proxyWith([
      {
        name: 'envoy.filters.http.jwt_authn',
        typed_config: { '@type': JWT, providers: { r: { issuer: 'iss-r', remote_jwks: { http_uri: { uri: 'http://127.0.0.1:1/jwks', cluster: 'x', timeout: '0.5s' } } } }, rules: [{ match: { prefix: '/' }, requires: { provider_name: 'r' } }] },
      },
    ]);
  });

  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it('RS256, PS256 and ES384 tokens verify; the identity reaches RBAC and outputs reach the app', async () => {
    for (const alg of ['RS256', 'PS256', 'ES384']) {
      const r = await request(p.port, '/who/x', { headers: bearer(token({ iss: 'iss-main', sub: 'alice', aud: ['other', 'svc-a'] }, { alg })) });
      assert.equal(r.status, 200, `${alg}: ${r.body}`);
    }
    const h = seenHeaders();
    assert.equal(h.authorization, undefined, 'the token is removed (forward: false)');
    assert.equal(h['x-user'], 'alice');
    assert.equal(JSON.parse(Buffer.from(h['x-payload'], 'base64url').toString()).sub, 'alice');
    assert.equal((await request(p.port, '/who/x', { headers: bearer(token({ iss: 'iss-main', sub: 'bob', aud: 'svc-a' })) })).status, 403);
    assert.equal((await request(p.port, '/who/x')).status, 403);
  });

  it('each check fails with Envoy\'s reason', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, Record<string, string>, string]> = [
      ['/x', bearer(token({ iss: 'iss-main', sub: 'a', aud: 'nope' })), 'Audiences in Jwt are not allowed'],
      ['/x', bearer(token({ iss: 'iss-main', sub: 'a', aud: 'svc-a', nbf: now + 3600 })), 'Jwt not valid yet'],
      ['/x', bearer(token({ iss: 'iss-main', aud: 'svc-a' }, { kid: 'unknown' })), "Jwks doesn't have key to match kid or alg from Jwt"],
      ['/x', bearer(token({ iss: 'iss-main', aud: 'svc-a' }, { alg: 'HS256' as string, key: rsa.privateKey })), 'Jwt algorithm is not supported'],
      ['/x', { 'x-jwt': 'Token ' + token({ iss: 'iss-custom', exp: undefined }) }, 'Jwt expiration is required'],
      ['/x', bearer('a.b'), 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections'],
      ['/strict', {}, 'Jwt is missing'],
      ['/both', bearer(token({ iss: 'iss-main', aud: 'svc-a' })), 'Jwt is missing'],
    ];
    for (const [path, headers, reason] of cases) {
      const r = await request(p.port, path, { headers });
      assert.equal(r.status, 401, `${reason}: got ${r.status} ${r.body}`);
      assert.equal(r.body, reason);
    }
    assert.ok(p.stats.counter('http.test.jwt_authn.denied').value >= cases.length);
  });

  it('custom header and query parameter locations; forward keeps the header', async () => {
    const t = token({ iss: 'iss-custom', sub: 'c' });
    assert.equal((await request(p.port, '/x', { headers: { 'x-jwt': `Token ${t}` } })).status, 200);
    assert.equal(seenHeaders()['x-jwt'], `Token ${t}`);
    assert.equal((await request(p.port, `/x?a=1&jwt=${t}`)).status, 200);
    assert.equal((await request(p.port, `/x?jwt=${t}x`)).status, 401);
  });

  it('requires_all needs both tokens; allow_missing passes good or no tokens; allow_missing_or_failed passes anything', async () => {
    const both = { ...bearer(token({ iss: 'iss-main', aud: 'svc-a' })), 'x-jwt': 'Token ' + token({ iss: 'iss-custom' }) };
    assert.equal((await request(p.port, '/both', { headers: both })).status, 200);
    assert.equal((await request(p.port, '/either')).status, 200);
    assert.equal((await request(p.port, '/either', { headers: bearer(token({ iss: 'iss-main', aud: 'svc-a' })) })).status, 200);
    assert.equal((await request(p.port, '/either', { headers: bearer(token({ iss: 'iss-main', aud: 'svc-a' }, { key: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey })) })).status, 401);
    assert.equal((await request(p.port, '/lenient', { headers: bearer('garbage.garbage.garbage') })).status, 200);
  });

  it('a JWKS that cannot be fetched fails the request closed', async () => {
    const r = await request(fetchFail.port, '/x', { headers: bearer(token({ iss: 'iss-r' })) });
    assert.equal(r.status, 401);
    assert.equal(r.body, 'Jwks remote fetch is failed');
    assert.equal((await request(fetchFail.port, '/x')).status, 401, 'no token at all fails a plain provider requirement');
  });

  it('refuses bad configs naming the field', () => {
    const bad = (json: unknown): string => {
      try {
        compileJwtAuthn(json as JsonObject, 'jwt');
      } catch (err) {
        assert.ok(err instanceof SailfinError);
        return `${err.field}: ${err.message}`;
      }
      assert.fail('accepted');
    };
    assert.match(bad({ providers: { a: { issuer: 'x', local_jwks: { inline_string: JWKS }, bogus: 1 } } }), /^jwt\.providers\.a\.bogus/);
    assert.match(bad({ providers: { a: { issuer: 'x', local_jwks: { inline_string: '{"keys":[]}' } } } }), /^jwt\.providers\.a\.local_jwks: .*no usable/);
    assert.match(bad({ providers: { a: { issuer: 'x' } } }), /needs exactly one of local_jwks, remote_jwks/);
    assert.match(bad({ providers: {}, rules: [{ match: { prefix: '/' }, requires: { provider_name: 'ghost' } }] }), /^jwt\.rules\[0\]\.requires\.provider_name: no provider named "ghost"/);
    assert.match(bad({ providers: { a: { issuer: 'x', remote_jwks: { http_uri: { uri: 'ftp://x', cluster: 'c' } } } } }), /http_uri\.uri: must be an http/);
  });
});
