import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertProtocol, isHttp, isHttp2Family, isTcp, parseProtocol } from '../../src/registry/protocol.js';

describe('port protocol selection', () => {
  it('reads the port-name prefix before the first dash, case-insensitively', () => {
    const cases: Array<[string, string]> = [
      ['http', 'HTTP'],
      ['http-web', 'HTTP'],
      ['HTTP-web', 'HTTP'],
      ['http2-api', 'HTTP2'],
      ['https', 'HTTPS'],
      ['grpc-api', 'GRPC'],
      ['grpc-web', 'GRPC-Web'],
      ['grpc-web-ui', 'GRPC-Web'],
      ['tcp-db', 'TCP'],
      ['tls-passthrough', 'TLS'],
      ['mongo-main', 'Mongo'],
      ['redis-cache', 'Redis'],
      ['mysql-db', 'MySQL'],
      ['udp-dns', 'UDP'],
      ['http_proxy', 'HTTP_PROXY'],
    ];
    for (const [name, want] of cases) assert.equal(convertProtocol(8080, name), want, name);
  });

  it('sniffs (auto) unknown and missing names, except on well-known server-first ports', () => {
    assert.equal(convertProtocol(8080, 'web'), 'auto');
    assert.equal(convertProtocol(8080, 'httpx'), 'auto');
    assert.equal(convertProtocol(8080, undefined), 'auto');
    for (const port of [25, 53, 3306, 27017]) assert.equal(convertProtocol(port, undefined), 'TCP', String(port));
  });

  it('lets appProtocol win over the name, with Kubernetes’ own values', () => {
    assert.equal(convertProtocol(80, 'tcp-x', 'TCP', 'http'), 'HTTP');
    assert.equal(convertProtocol(80, 'http', 'TCP', 'grpc'), 'GRPC');
    assert.equal(convertProtocol(80, 'http', 'TCP', 'kubernetes.io/h2c'), 'HTTP2');
    assert.equal(convertProtocol(80, 'tcp', 'TCP', 'kubernetes.io/ws'), 'HTTP');
    assert.equal(convertProtocol(80, 'tcp', 'TCP', 'kubernetes.io/wss'), 'HTTPS');
  });

  it('never proxies UDP, whatever the name says', () => {
    assert.equal(convertProtocol(53, 'http', 'UDP'), 'UDP');
  });

  it('parses ServiceEntry/Gateway protocol names whole', () => {
    assert.equal(parseProtocol('HTTPS'), 'HTTPS');
    assert.equal(parseProtocol('grpc-web'), 'GRPC-Web');
    assert.equal(parseProtocol('http-foo'), 'auto');
    assert.equal(parseProtocol(undefined), 'auto');
  });

  it('groups protocols as the proxy needs them', () => {
    assert.equal(isHttp('GRPC'), true);
    assert.equal(isHttp2Family('GRPC-Web'), true);
    assert.equal(isHttp2Family('HTTP'), false);
    assert.equal(isTcp('Redis'), true);
    assert.equal(isTcp('auto'), false);
  });
});
