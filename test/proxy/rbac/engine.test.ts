import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject } from '../../../src/proxy/config/fields.js';
import { HeaderList } from '../../../src/proxy/http/headers.js';
import type { RouteRequest } from '../../../src/proxy/http/matchers.js';
import { compileRbacRules } from '../../../src/proxy/rbac/engine.js';
import type { ConnectionFacts } from '../../../src/proxy/rbac/subject.js';
import { SailfinError } from '../../../src/common/errors.js';

const conn = (over: Partial<ConnectionFacts> = {}): ConnectionFacts => ({ remoteAddress: '10.1.2.3', localAddress: '10.0.0.9', localPort: 8080, transportProtocol: 'raw_buffer', ...over });
const mtls = (uri: string): ConnectionFacts => conn({ transportProtocol: 'tls', peerUri: uri });
const req = (method: string, path: string, headers: Record<string, string> = {}, host = 'svc.local'): RouteRequest => ({
  method,
  path,
  host,
  scheme: 'http',
  headers: new HeaderList(Object.entries(headers).flat()),
});

function engine(action: string, policies: Record<string, { permissions: unknown[]; principals: unknown[] }>) {
  return compileRbacRules({ action, policies } as unknown as JsonObject, 'rules');
}

describe('RBAC engine', () => {
  it('ALLOW with no policies denies everything; DENY with no policies denies nothing; LOG never blocks', () => {
    assert.equal(engine('ALLOW', {}).evaluate(conn(), req('GET', '/'), undefined).allowed, false);
    assert.equal(engine('DENY', {}).evaluate(conn(), req('GET', '/'), undefined).allowed, true);
    const log = engine('LOG', { p: { permissions: [{ any: true }], principals: [{ any: true }] } });
    const d = log.evaluate(conn(), undefined, undefined);
    assert.equal(d.allowed, true);
    assert.equal(d.policy, 'p');
  });

  it('a policy needs one permission AND one principal to match', () => {
    const e = engine('ALLOW', {
      'get-from-curl': {
        permissions: [{ header: { name: ':method', string_match: { exact: 'GET' } } }, { url_path: { path: { prefix: '/public/' } } }],
        principals: [{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/curl' } } }],
      },
    });
    const curl = mtls('spiffe://cluster.local/ns/default/sa/curl');
    assert.deepEqual(e.evaluate(curl, req('GET', '/x'), undefined), { allowed: true, policy: 'get-from-curl' });
    assert.equal(e.evaluate(curl, req('POST', '/public/a?x=1'), undefined).allowed, true);
    assert.equal(e.evaluate(curl, req('POST', '/private'), undefined).allowed, false);
    assert.equal(e.evaluate(mtls('spiffe://cluster.local/ns/default/sa/other'), req('GET', '/x'), undefined).allowed, false);
    assert.equal(e.evaluate(conn(), req('GET', '/x'), undefined).allowed, false, 'plaintext has no principal');
  });

  it('url_path ignores the query string; and/or/not combine', () => {
    const e = engine('DENY', {
      p: {
        permissions: [{ and_rules: { rules: [{ url_path: { path: { exact: '/admin' } } }, { not_rule: { header: { name: 'x-token', string_match: { exact: 'admin' } } } }] } }],
        principals: [{ any: true }],
      },
    });
    assert.equal(e.evaluate(conn(), req('GET', '/admin?debug=1'), undefined).allowed, false);
    assert.equal(e.evaluate(conn(), req('GET', '/admin', { 'x-token': 'admin' }), undefined).allowed, true);
    assert.equal(e.evaluate(conn(), req('GET', '/admins'), undefined).allowed, true);
  });

  it('IPs, ports, SNI and namespace regexes on the connection', () => {
    const e = engine('ALLOW', {
      p: {
        permissions: [{ and_rules: { rules: [{ destination_port: 8080 }, { destination_ip: { address_prefix: '10.0.0.0', prefix_len: 24 } }] } }, { requested_server_name: { suffix: '.example.com' } }],
        principals: [{ or_ids: { ids: [{ direct_remote_ip: { address_prefix: '10.1.0.0', prefix_len: 16 } }, { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/prod/.*' } } } }] } }],
      },
    });
    assert.equal(e.evaluate(conn(), undefined, undefined).allowed, true);
    assert.equal(e.evaluate(conn({ remoteAddress: '::ffff:10.1.9.9' }), undefined, undefined).allowed, true, 'IPv4-mapped addresses match IPv4 blocks');
    assert.equal(e.evaluate(conn({ remoteAddress: '10.2.0.1' }), undefined, undefined).allowed, false);
    assert.equal(e.evaluate(conn({ remoteAddress: '10.2.0.1', transportProtocol: 'tls', peerUri: 'spiffe://td/ns/prod/sa/a' }), undefined, undefined).allowed, true);
    assert.equal(e.evaluate(conn({ localPort: 9090 }), undefined, undefined).allowed, false);
    assert.equal(e.evaluate(conn({ localPort: 9090, serverName: 'a.example.com' }), undefined, undefined).allowed, true);
  });

  it('remote_ip reads the last X-Forwarded-For hop', () => {
    const e = engine('ALLOW', { p: { permissions: [{ any: true }], principals: [{ remote_ip: { address_prefix: '192.168.0.0', prefix_len: 16 } }] } });
    assert.equal(e.evaluate(conn(), req('GET', '/', { 'x-forwarded-for': '1.1.1.1, 192.168.4.4' }), undefined).allowed, true);
    assert.equal(e.evaluate(conn(), req('GET', '/'), undefined).allowed, false);
  });

  it('headers and paths never match a TCP connection (no request)', () => {
    const e = engine('ALLOW', { p: { permissions: [{ header: { name: ':method', string_match: { exact: 'GET' } } }], principals: [{ any: true }] } });
    assert.equal(e.evaluate(conn(), undefined, undefined).allowed, false);
    const inv = engine('ALLOW', { p: { permissions: [{ url_path: { path: { prefix: '/' } } }], principals: [{ any: true }] } });
    assert.equal(inv.evaluate(conn(), undefined, undefined).allowed, false);
  });

  it('metadata: request.auth.principal and list claims from istio_authn', () => {
    const e = engine('ALLOW', {
      p: {
        permissions: [{ any: true }],
        principals: [
          {
            and_ids: {
              ids: [
                { metadata: { filter: 'istio_authn', path: [{ key: 'request.auth.principal' }], value: { string_match: { exact: 'https://issuer/alice' } } } },
                { metadata: { filter: 'istio_authn', path: [{ key: 'request.auth.claims' }, { key: 'groups' }], value: { list_match: { one_of: { string_match: { exact: 'admins' } } } } } },
              ],
            },
          },
        ],
      },
    });
    const md = (principal: string, groups: string[]) => ({ istio_authn: { 'request.auth.principal': principal, 'request.auth.claims': { groups } } });
    assert.equal(e.evaluate(conn(), req('GET', '/'), md('https://issuer/alice', ['dev', 'admins'])).allowed, true);
    assert.equal(e.evaluate(conn(), req('GET', '/'), md('https://issuer/alice', ['dev'])).allowed, false);
    assert.equal(e.evaluate(conn(), req('GET', '/'), md('https://issuer/bob', ['admins'])).allowed, false);
    assert.equal(e.evaluate(conn(), req('GET', '/'), undefined).allowed, false);
  });

  it('refuses unknown fields, bad CIDRs and CEL conditions, naming the path', () => {
    const bad = (rules: unknown): string => {
      try {
        compileRbacRules(rules as JsonObject, 'rules');
      } catch (err) {
        assert.ok(err instanceof SailfinError);
        return `${err.field}: ${err.message}`;
      }
      assert.fail('accepted');
    };
    assert.match(bad({ action: 'ALLOW', policies: { p: { permissions: [{ any: true, bogus: 1 }], principals: [{ any: true }] } } }), /^rules\.policies\.p\.permissions\[0\]\.bogus/);
    assert.match(bad({ action: 'ALLOW', policies: { p: { permissions: [{ any: true }], principals: [{ direct_remote_ip: { address_prefix: '10.0.0.300', prefix_len: 8 } }] } } }), /principals\[0\]\.direct_remote_ip\.address_prefix: .*not an IP/);
    assert.match(bad({ action: 'ALLOW', policies: { p: { permissions: [{ any: true }], principals: [{ any: true }], condition: {} } } }), /condition: CEL/);
    assert.match(bad({ action: 'MAYBE', policies: {} }), /^rules\.action/);
    assert.match(bad({ action: 'ALLOW', policies: { p: { permissions: [], principals: [{ any: true }] } } }), /permissions: needs at least one/);
  });
});
