import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileChainMatch, selectChain, type ConnectionFacts } from '../../../src/proxy/listener/filter-chain-match.js';
import { SailfinError } from '../../../src/common/errors.js';

const facts = (f: Partial<ConnectionFacts>): ConnectionFacts => ({ localIp: '10.0.0.5', localPort: 9080, remoteIp: '10.0.0.9', remotePort: 40000, transportProtocol: 'raw_buffer', applicationProtocols: [], ...f });
const compile = (ms: object[]) => ms.map((m, i) => compileChainMatch(m as never, `c[${i}]`));

test('destination port is decided before server name, and a port-specific chain beats a catch-all', () => {
  const ms = compile([{ server_names: ['a.example.com'] }, { destination_port: 9080 }, {}]);
  assert.equal(selectChain(ms, facts({ serverName: 'a.example.com' })), 1);
  assert.equal(selectChain(ms, facts({ localPort: 80, serverName: 'a.example.com' })), 0);
  assert.equal(selectChain(ms, facts({ localPort: 80 })), 2);
});

test('longest destination prefix wins; no fallback to a less specific prefix once a more specific one matched', () => {
  const ms = compile([{ prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] }, { prefix_ranges: [{ address_prefix: '10.0.0.5', prefix_len: 32 }], server_names: ['x.com'] }]);
  assert.equal(selectChain(ms, facts({ localIp: '10.1.2.3' })), 0);
  assert.equal(selectChain(ms, facts({ serverName: 'x.com' })), 1);
  // The /32 matches the IP but not the SNI: Envoy does not fall back to the /8 chain.
  assert.equal(selectChain(ms, facts({ serverName: 'y.com' })), -1);
});

test('server names: exact beats wildcard, longer wildcard beats shorter, wildcard needs a label', () => {
  const ms = compile([{ server_names: ['*.example.com'] }, { server_names: ['*.a.example.com'] }, { server_names: ['b.a.example.com'] }, {}]);
  assert.equal(selectChain(ms, facts({ serverName: 'b.a.example.com' })), 2);
  assert.equal(selectChain(ms, facts({ serverName: 'c.a.example.com' })), 1);
  assert.equal(selectChain(ms, facts({ serverName: 'z.example.com' })), 0);
  assert.equal(selectChain(ms, facts({ serverName: 'example.com' })), 3);
  assert.equal(selectChain(ms, facts({})), 3);
});

test('transport protocol, ALPN, source prefix and source ports narrow in order', () => {
  const ms = compile([
    { transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] },
    { transport_protocol: 'tls' },
    { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] },
    { transport_protocol: 'raw_buffer' },
    { source_prefix_ranges: [{ address_prefix: '127.0.0.1', prefix_len: 32 }] },
  ]);
  assert.equal(selectChain(ms, facts({ transportProtocol: 'tls', applicationProtocols: ['istio', 'h2'] })), 0);
  assert.equal(selectChain(ms, facts({ transportProtocol: 'tls', applicationProtocols: ['h2'] })), 1);
  assert.equal(selectChain(ms, facts({ applicationProtocols: ['http/1.1'] })), 2);
  assert.equal(selectChain(ms, facts({})), 3);
  const src = compile([{ source_prefix_ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }] }, { source_ports: [5555] }, {}]);
  assert.equal(selectChain(src, facts({ remoteIp: '127.0.0.9' })), 0);
  assert.equal(selectChain(src, facts({ remotePort: 5555 })), 1);
  assert.equal(selectChain(src, facts({})), 2);
});

test('IPv6 ranges and IPv4-mapped addresses', () => {
  const ms = compile([{ prefix_ranges: [{ address_prefix: 'fd00::', prefix_len: 8 }] }, { prefix_ranges: [{ address_prefix: '192.168.0.0', prefix_len: 16 }] }]);
  assert.equal(selectChain(ms, facts({ localIp: 'fd00::1:2' })), 0);
  assert.equal(selectChain(ms, facts({ localIp: '::ffff:192.168.3.4' })), 1);
  assert.equal(selectChain(ms, facts({ localIp: '10.0.0.1' })), -1);
});

test('bad matches are rejected with the field path', () => {
  assert.throws(() => compile([{ server_names: ['a.*.com'] }]), (e: unknown) => e instanceof SailfinError && e.field === 'c[0].server_names[0]');
  assert.throws(() => compile([{ prefix_ranges: [{ address_prefix: 'nope' }] }]), (e: unknown) => e instanceof SailfinError && e.field === 'c[0].prefix_ranges[0].address_prefix');
  assert.throws(() => compile([{ destination_ports: 1 }]), (e: unknown) => e instanceof SailfinError && e.field === 'c[0].destination_ports');
});
