/**
 * AuthorizationPolicy and RequestAuthentication enforced by the real `sailfin proxy` process, with
 * the filters produced by the control plane's own translation: HTTP allow/deny/spec-{} cases,
 * principals from real mesh-CA client certificates (and the XFCC the app sees), ipBlocks, network
 * RBAC closing TCP connections before tcp_proxy connects, and JWTs (local and served JWKS).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import * as net from 'node:net';
import { parse } from 'yaml';
import type { LoadedResource } from '../../../src/config/resource.js';
import type { JsonObject } from '../../../src/proxy/config/fields.js';
import { createSelfSignedRoot } from '../../../src/ca/root-ca.js';
import { MeshCa } from '../../../src/ca/mesh-ca.js';
import { policiesFor, rbacFilters } from '../../../src/pilot/security/authorization.js';
import { jwtAuthnFilter, requestAuthenticationsFor } from '../../../src/pilot/security/request-authentication.js';
import { issueFor, type WorkloadCreds } from '../../ca/helpers.js';
import { adminBlock, httpGet, runProxy, runProxyExpectExit, staticCluster, tcpListener, tcpProxyFilter, type RunningProxy } from '../integration/harness.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

function resources(yamlText: string): LoadedResource[] {
  return yamlText.split(/^---$/m).map((d) => parse(d)).filter(Boolean).map((resource, i) => ({ resource, source: { file: 'test.yaml', document: i } }));
}

// ---- JWT material: an RSA key served inline, an EC key served over HTTP ----
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const LOCAL_ISS = 'issuer-local';
const REMOTE_ISS = 'https://remote-issuer';
const localJwks = JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa1', alg: 'RS256', use: 'sig' }] });
const remoteJwks = JSON.stringify({ keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec1', alg: 'ES256' }] });

function jwt(claims: Record<string, unknown>, key: KeyObject = rsa.privateKey, alg: 'RS256' | 'ES256' = 'RS256', kid = alg === 'RS256' ? 'rsa1' : 'ec1'): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg, kid, typ: 'JWT' })}.${enc({ iat: now, exp: now + 600, ...claims })}`;
  const sig = sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${sig.toString('base64url')}`;
}

// ---- backends ----
interface Seen {
  path: string;
  headers: Record<string, string | string[] | undefined>;
}
let httpBackend: Server;
const seen: Seen[] = [];
let tcpBackend: net.Server;
let tcpAccepted = 0;
let jwksServer: Server;
let jwksFetches = 0;

let ca: MeshCa;
let serverCreds: WorkloadCreds;
let curlCreds: WorkloadCreds;
let otherCreds: WorkloadCreds;
let proxy: RunningProxy;

function listen(server: Server | net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/**
 * Istio (and the control plane here) names both the DENY and the ALLOW filter envoy.filters.http.rbac,
 * which Envoy accepts; Sailfin's HCM still refuses repeated names, so the test numbers the repeats.
 */
function uniqueNames(filters: JsonObject[]): JsonObject[] {
  const seenNames = new Set<string>();
  return filters.map((f) => {
    let name = String(f.name);
    for (let i = 2; seenNames.has(name); i++) name = `${f.name}.${i}`;
    seenNames.add(name);
    return { ...f, name };
  });
}

function hcmFilter(filters: JsonObject[], extra: JsonObject = {}): JsonObject {
  filters = uniqueNames(filters);
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM,
      stat_prefix: 'inbound_test',
      http_filters: [...filters, ROUTER],
      route_config: { name: 'inbound', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] },
      ...extra,
    },
  };
}

const POLICIES = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin-without-token, namespace: foo}
spec:
  action: DENY
  rules:
  - to: [{operation: {paths: ["/admin*"]}}]
    when: [{key: "request.headers[x-token]", notValues: [admin]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-some, namespace: foo}
spec:
  action: ALLOW
  rules:
  - to: [{operation: {methods: [GET], paths: ["/ip", "/status/*", "/admin*"]}}]
  - from: [{source: {ipBlocks: ["127.0.0.1/32"]}}]
    to: [{operation: {paths: ["/local"]}}]
  - from: [{source: {ipBlocks: ["10.0.0.0/8"]}}]
    to: [{operation: {paths: ["/ten"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: empty}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: only-curl, namespace: mtls}
spec:
  rules:
  - from: [{source: {principals: ["cluster.local/ns/default/sa/curl"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-loopback, namespace: tcpdeny}
spec:
  action: DENY
  rules:
  - from: [{source: {ipBlocks: ["127.0.0.0/8"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-loopback, namespace: tcpallow}
spec:
  rules:
  - from: [{source: {ipBlocks: ["127.0.0.1"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: jwt-rules, namespace: jwt}
spec:
  rules:
  - to: [{operation: {paths: ["/open"]}}]
  - from: [{source: {requestPrincipals: ["${LOCAL_ISS}/*", "${REMOTE_ISS}/*"]}}]
    to: [{operation: {paths: ["/secure"]}}]
  - to: [{operation: {paths: ["/admins"]}}]
    when: [{key: "request.auth.claims[groups]", values: [admins]}]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: jwt}
spec:
  jwtRules:
  - issuer: ${LOCAL_ISS}
    jwks: '${localJwks}'
  - issuer: ${REMOTE_ISS}
    jwksUri: "http://127.0.0.1:JWKS_PORT/jwks.json"
`;

before(async () => {
  httpBackend = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    req.resume();
    res.end(`app ${req.url}`);
  });
  tcpBackend = net.createServer((s) => {
    tcpAccepted++;
    s.end('hello from tcp');
  });
  jwksServer = createServer((_req, res) => {
    jwksFetches++;
    res.setHeader('content-type', 'application/json');
    res.end(remoteJwks);
  });
  const [appPort, tcpPort, jwksPort] = await Promise.all([listen(httpBackend), listen(tcpBackend), listen(jwksServer)]);
  ca = new MeshCa(await createSelfSignedRoot());
  [serverCreds, curlCreds, otherCreds] = await Promise.all([issueFor(ca, 'mtls', 'httpbin'), issueFor(ca, 'default', 'curl'), issueFor(ca, 'default', 'other')]);

  const all = resources(POLICIES.replace('JWKS_PORT', String(jwksPort)));
  const authz = (ns: string, kind: 'http' | 'tcp') => rbacFilters(policiesFor(all, 'istio-system', ns, {}), kind);
  const jwtFilter = jwtAuthnFilter(requestAuthenticationsFor(all, 'istio-system', 'jwt', {}))!;
  const mtlsSocket = {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      require_client_certificate: true,
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { inline_string: serverCreds.certChainPem }, private_key: { inline_string: serverCreds.key.pem } }],
        validation_context: { trusted_ca: { inline_string: serverCreds.rootsPem } },
      },
    },
  };
  proxy = await runProxy({
    admin: adminBlock(),
    static_resources: {
      clusters: [staticCluster('app', [appPort]), staticCluster('tcp-app', [tcpPort])],
      listeners: [
        tcpListener('authz', [{ filters: [hcmFilter(authz('foo', 'http'))] }]),
        tcpListener('empty', [{ filters: [hcmFilter(authz('empty', 'http'))] }]),
        tcpListener('mtls', [
          {
            transport_socket: mtlsSocket,
            filters: [hcmFilter(authz('mtls', 'http'), { forward_client_cert_details: 'APPEND_FORWARD', set_current_client_cert_details: { subject: true, dns: true, uri: true } })],
          },
        ]),
        tcpListener('tcpdeny', [{ filters: [...authz('tcpdeny', 'tcp'), tcpProxyFilter('tcp-app')] }]),
        tcpListener('tcpallow', [{ filters: [...authz('tcpallow', 'tcp'), tcpProxyFilter('tcp-app')] }]),
        tcpListener('jwt', [{ filters: [hcmFilter([jwtFilter, ...authz('jwt', 'http')])] }]),
      ],
    },
  });
});

after(async () => {
  await proxy?.stop();
  for (const s of [httpBackend, tcpBackend, jwksServer]) s?.close();
});

const port = (name: string): number => {
  const p = proxy.ports.get(name);
  assert.ok(p, `listener ${name} has a port`);
  return p;
};

describe('AuthorizationPolicy over HTTP', () => {
  it('ALLOW lets listed operations through and refuses the rest with 403 "RBAC: access denied"', async () => {
    const p = port('authz');
    assert.equal((await httpGet(p, '/ip')).status, 200);
    assert.equal((await httpGet(p, '/status/418?x=1')).status, 200);
    const post = await httpGet(p, '/ip', { method: 'POST', body: 'x' });
    assert.equal(post.status, 403);
    assert.equal(post.body, 'RBAC: access denied');
    const other = await httpGet(p, '/other');
    assert.equal(other.status, 403);
    assert.equal(other.body, 'RBAC: access denied');
    assert.ok(!seen.some((s) => s.path === '/other'), 'a denied request never reaches the app');
  });

  it('DENY beats ALLOW; a `when` notValues condition lifts the deny', async () => {
    const p = port('authz');
    assert.equal((await httpGet(p, '/admin/users')).status, 403);
    assert.equal((await httpGet(p, '/admin/users', { headers: { 'x-token': 'guest' } })).status, 403);
    const ok = await httpGet(p, '/admin/users', { headers: { 'x-token': 'admin' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'app /admin/users');
  });

  it('ipBlocks match the peer address', async () => {
    const p = port('authz');
    assert.equal((await httpGet(p, '/local', { method: 'DELETE' })).status, 200);
    assert.equal((await httpGet(p, '/ten')).status, 403);
  });

  it('spec: {} denies everything', async () => {
    const r = await httpGet(port('empty'), '/ip');
    assert.equal(r.status, 403);
    assert.equal(r.body, 'RBAC: access denied');
  });

  it('counts decisions under http.<stat_prefix>.rbac and logs the deny detail', async () => {
    const stats = (await httpGet(proxy.adminPort, '/stats')).body;
    assert.match(stats, /http\.inbound_test\.rbac\.denied: [1-9]/);
    assert.match(stats, /http\.inbound_test\.rbac\.allowed: [1-9]/);
  });
});

function mtlsGet(creds: WorkloadCreds, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: port('mtls'), path, key: creds.key.pem, cert: creds.certChainPem, ca: creds.rootsPem, checkServerIdentity: () => undefined, agent: false, timeout: 5000 },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('principals from mesh mTLS certificates', () => {
  it('the named identity is allowed and the app sees it in X-Forwarded-Client-Cert', async () => {
    const r = await mtlsGet(curlCreds, '/whoami');
    assert.equal(r.status, 200);
    const xfcc = String(seen.find((s) => s.path === '/whoami')?.headers['x-forwarded-client-cert'] ?? '');
    assert.match(xfcc, /By=spiffe:\/\/cluster\.local\/ns\/mtls\/sa\/httpbin/);
    assert.match(xfcc, /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/curl/);
    const hash = createHash('sha256').update(Buffer.from(curlCreds.certChainPem.split('-----')[2].replace(/\s/g, ''), 'base64')).digest('hex');
    assert.match(xfcc, new RegExp(`Hash=${hash}`));
  });

  it('another identity from the same CA is refused', async () => {
    const r = await mtlsGet(otherCreds, '/whoami-other');
    assert.equal(r.status, 403);
    assert.equal(r.body, 'RBAC: access denied');
  });
});

function tcpExchange(p: number): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(p, '127.0.0.1');
    let data = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout'));
    }, 5000);
    s.on('data', (d) => (data += d));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(t);
      resolve({ data, closed: true });
    });
  });
}

describe('network RBAC on TCP chains', () => {
  it('a denied connection is closed before tcp_proxy connects upstream', async () => {
    const before = tcpAccepted;
    const r = await tcpExchange(port('tcpdeny'));
    assert.equal(r.data, '');
    assert.equal(tcpAccepted, before, 'the backend never saw a connection');
    assert.match((await httpGet(proxy.adminPort, '/stats')).body, /tcp\.rbac\.denied: 1/);
  });

  it('an allowed connection is proxied', async () => {
    const r = await tcpExchange(port('tcpallow'));
    assert.equal(r.data, 'hello from tcp');
    assert.match((await httpGet(proxy.adminPort, '/stats')).body, /tcp\.rbac\.allowed: 1/);
  });
});

describe('RequestAuthentication (jwt_authn) with AuthorizationPolicy', () => {
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it('no token passes authentication; requestPrincipals then demand one', async () => {
    const p = port('jwt');
    assert.equal((await httpGet(p, '/open')).status, 200);
    assert.equal((await httpGet(p, '/secure')).status, 403);
  });

  it('a valid RS256 token sets request.auth.principal and is not forwarded', async () => {
    const r = await httpGet(port('jwt'), '/secure', { headers: bearer(jwt({ iss: LOCAL_ISS, sub: 'alice' })) });
    assert.equal(r.status, 200);
    const got = seen.find((s) => s.path === '/secure');
    assert.ok(got);
    assert.equal(got.headers.authorization, undefined);
  });

  it('bad signature, expired token and unknown issuer get 401 with Envoy\'s reason', async () => {
    const p = port('jwt');
    const forged = await httpGet(p, '/open', { headers: bearer(jwt({ iss: LOCAL_ISS, sub: 'mallory' }, otherRsa.privateKey)) });
    assert.equal(forged.status, 401);
    assert.equal(forged.body, 'Jwt verification fails');
    assert.match(String(forged.headers['www-authenticate']), /^Bearer realm=.*error="invalid_token"/);
    const expired = await httpGet(p, '/open', { headers: bearer(jwt({ iss: LOCAL_ISS, sub: 'a', exp: Math.floor(Date.now() / 1000) - 3600 })) });
    assert.equal(expired.status, 401);
    assert.equal(expired.body, 'Jwt is expired');
    const stranger = await httpGet(p, '/open', { headers: bearer(jwt({ iss: 'someone-else', sub: 'a' })) });
    assert.equal(stranger.status, 401);
    assert.equal(stranger.body, 'Jwt issuer is not configured');
    const garbage = await httpGet(p, '/open', { headers: bearer('not-a-jwt') });
    assert.equal(garbage.status, 401);
  });

  it('claims conditions read the token\'s list claims', async () => {
    const p = port('jwt');
    assert.equal((await httpGet(p, '/admins', { headers: bearer(jwt({ iss: LOCAL_ISS, sub: 'a', groups: ['dev'] })) })).status, 403);
    assert.equal((await httpGet(p, '/admins', { headers: bearer(jwt({ iss: LOCAL_ISS, sub: 'a', groups: ['dev', 'admins'] })) })).status, 200);
  });

  it('an ES256 token is checked against the JWKS served by jwksUri, fetched once', async () => {
    const p = port('jwt');
    const token = jwt({ iss: REMOTE_ISS, sub: 'bob' }, ec.privateKey, 'ES256');
    assert.equal((await httpGet(p, '/secure', { headers: bearer(token) })).status, 200);
    assert.equal((await httpGet(p, '/secure', { headers: bearer(token) })).status, 200);
    assert.equal(jwksFetches, 1);
    const forged = jwt({ iss: REMOTE_ISS, sub: 'bob' }, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256');
    assert.equal((await httpGet(p, '/secure', { headers: bearer(forged) })).status, 401);
  });
});

describe('bad policies', () => {
  it('a bad CIDR or an unknown RBAC field stops the proxy from starting, naming the field', async () => {
    const boot = (rules: object) =>
      JSON.stringify({
        admin: adminBlock(),
        static_resources: {
          clusters: [staticCluster('tcp-app', [1])],
          listeners: [tcpListener('l', [{ filters: [{ name: 'envoy.filters.network.rbac', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC', stat_prefix: 'tcp.', rules } }, tcpProxyFilter('tcp-app')] }])],
        },
      });
    const cidr = await runProxyExpectExit(boot({ action: 'ALLOW', policies: { p: { permissions: [{ any: true }], principals: [{ direct_remote_ip: { address_prefix: '10.0.0.300', prefix_len: 8 } }] } } }), 'bootstrap.json');
    assert.notEqual(cidr.code, 0);
    assert.match(cidr.stderr, /rules\.policies\.p\.principals\[0\]\.direct_remote_ip\.address_prefix: "10\.0\.0\.300" is not an IP address/);
    assert.doesNotMatch(cidr.stderr, /\n\s+at /, 'no stack trace');
    const unknown = await runProxyExpectExit(boot({ action: 'ALLOW', policies: { p: { permissions: [{ any: true }], principals: [{ source_principal: 'x' }] } } }), 'bootstrap.json');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /principals\[0\]\.source_principal/);
  });
});
