import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type AddressInfo } from 'node:net';
import { type Server, type TLSSocket, createServer } from 'node:tls';
import { StatsStore } from '../../../src/proxy/stats/store.js';
import { ClusterManagerImpl } from '../../../src/proxy/upstream/cluster-manager.js';
import type { ConnectFailure } from '../../../src/proxy/upstream/api.js';
import type { Secret, SecretHandle, SecretProvider } from '../../../src/proxy/tls/api.js';
import type { JsonObject } from '../../../src/proxy/config/fields.js';
import { parseSubjectAltNames } from '../../../src/proxy/upstream/upstream-tls.js';
import { type Pair, type TestPki, makePki } from './certs.js';
import { connectAsync, lbEndpoint } from './helpers.js';

const TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/server';
const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';

let pki: TestPki;
let serverPair: Pair;
let clientPair: Pair;
let server: Server;
let port: number;
/** What the server saw of the last client: its SNI, ALPN and certificate URI. */
let lastClient: { sni?: string; alpn?: string; clientUri?: string } = {};
const open = new Set<TLSSocket>();

before(async () => {
  pki = await makePki();
  serverPair = await pki.issue({ dns: ['server.example.com'], uri: [SERVER_ID] });
  clientPair = await pki.issue({ uri: [CLIENT_ID] });
  server = createServer({ cert: serverPair.cert, key: serverPair.key, ca: pki.caPem, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] }, (s: TLSSocket) => {
    const peer = s.getPeerCertificate();
    lastClient = { sni: (s as TLSSocket & { servername?: string }).servername || undefined, alpn: s.alpnProtocol || undefined, clientUri: parseSubjectAltNames(peer?.subjectaltname).find((x) => x.type === 'URI')?.value };
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => {});
    s.end('tls-ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(() => {
  for (const s of open) s.destroy();
  return new Promise<void>((r) => server.close(() => r()));
});

function tlsSocket(ctx: JsonObject): JsonObject {
  return { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TLS, ...ctx } };
}

function tlsCluster(cm: ClusterManagerImpl, ctx: JsonObject, extra: JsonObject = {}) {
  return cm.addOrUpdate(
    {
      name: 'svc',
      connect_timeout: '1s',
      load_assignment: { endpoints: [{ lb_endpoints: [lbEndpoint(port)] }] },
      transport_socket: tlsSocket(ctx),
      ...extra,
    },
    'c',
  );
}

async function read(socket: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const chunk of socket) s += chunk.toString();
  return s;
}

test('TLS with SNI, trusted CA, URI SAN match and ALPN h2: connects and reports the peer identity', async () => {
  const stats = new StatsStore();
  const cm = new ClusterManagerImpl({ stats });
  const c = tlsCluster(cm, {
    sni: 'server.example.com',
    common_tls_context: {
      alpn_protocols: ['h2'],
      tls_certificates: [{ certificate_chain: { inline_string: clientPair.cert }, private_key: { inline_string: clientPair.key } }],
      validation_context: { trusted_ca: { inline_string: pki.caPem }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: SERVER_ID } }] },
    },
  }, { http2_protocol_options: {} });
  assert.equal(c.info.tls, true);
  const res = await connectAsync(c, c.chooseHost({})!);
  assert.equal(res.alpn, 'h2');
  assert.equal(res.peerUri, SERVER_ID);
  assert.equal(await read(res.socket), 'tls-ok');
  assert.equal(lastClient.sni, 'server.example.com');
  assert.equal(lastClient.clientUri, CLIENT_ID, 'the client certificate was presented');
  assert.equal(stats.counter('cluster.svc.ssl.handshake').value, 1);
  cm.close();
});

test('an HTTP/1.1 cluster never lets the server choose h2 when the caller names no protocol', async () => {
  const cm = new ClusterManagerImpl({ stats: new StatsStore() });
  const h1 = tlsCluster(cm, { common_tls_context: { alpn_protocols: ['istio-peer-exchange', 'h2', 'http/1.1'] } });
  const r1 = await connectAsync(h1, h1.chooseHost({})!);
  assert.equal(r1.alpn, 'http/1.1');
  r1.socket.destroy();
  const h2 = tlsCluster(cm, { common_tls_context: { alpn_protocols: ['h2', 'http/1.1'] } }, { http2_protocol_options: {} });
  const r2 = await connectAsync(h2, h2.chooseHost({})!);
  assert.equal(r2.alpn, 'h2');
  r2.socket.destroy();
  cm.close();
});

test('a SAN that does not match fails the connection (and so does an untrusted CA)', async () => {
  const stats = new StatsStore();
  const cm = new ClusterManagerImpl({ stats });
  const c = tlsCluster(cm, {
    common_tls_context: { validation_context: { trusted_ca: { inline_string: pki.caPem }, match_subject_alt_names: [{ exact: 'spiffe://cluster.local/ns/default/sa/other' }] } },
  });
  const err = (await connectAsync(c, c.chooseHost({})!).catch((e: unknown) => e)) as ConnectFailure;
  assert.equal(err.failure, 'tls');
  assert.match(err.transportFailureReason, /SAN/);
  assert.equal(stats.counter('cluster.svc.ssl.fail_verify_san').value, 1);

  const dnsOk = tlsCluster(cm, { common_tls_context: { validation_context: { trusted_ca: { inline_string: pki.caPem }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { suffix: '.example.com' } }] } } });
  (await connectAsync(dnsOk, dnsOk.chooseHost({})!)).socket.destroy();
  const wrongType = tlsCluster(cm, { common_tls_context: { validation_context: { trusted_ca: { inline_string: pki.caPem }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: SERVER_ID } }] } } });
  assert.equal(((await connectAsync(wrongType, wrongType.chooseHost({})!).catch((e: unknown) => e)) as ConnectFailure).failure, 'tls', 'a URI value does not satisfy a DNS matcher');

  const other = await makePki('Other CA');
  const untrusted = tlsCluster(cm, { common_tls_context: { validation_context: { trusted_ca: { inline_string: other.caPem } } } });
  const e2 = (await connectAsync(untrusted, untrusted.chooseHost({})!).catch((e: unknown) => e)) as ConnectFailure;
  assert.equal(e2.failure, 'tls');
  assert.match(e2.transportFailureReason, /^TLS error: /);

  const noValidation = tlsCluster(cm, { common_tls_context: {} });
  const ok = await connectAsync(noValidation, noValidation.chooseHost({})!);
  assert.equal(await read(ok.socket), 'tls-ok', 'without a trusted CA, Envoy does not verify the peer');
  cm.close();
});

/** A SecretProvider whose secrets the test sets, like SDS pushes. */
class TestSecrets implements SecretProvider {
  private readonly values = new Map<string, Secret>();
  private readonly listeners = new Map<string, Set<() => void>>();
  set(name: string, s: Secret): void {
    this.values.set(name, s);
    for (const l of this.listeners.get(name) ?? []) l();
  }
  subscribe<T extends Secret = Secret>(name: string): SecretHandle<T> {
    const values = this.values;
    const listeners = this.listeners;
    return {
      get current() {
        return values.get(name) as T | undefined;
      },
      onChange(l) {
        if (!listeners.has(name)) listeners.set(name, new Set());
        listeners.get(name)!.add(l);
        return () => listeners.get(name)!.delete(l);
      },
    };
  }
}

test("Istio's ISTIO_MUTUAL socket: SDS 'default' certificate and 'ROOTCA' through combined_validation_context", async () => {
  const secrets = new TestSecrets();
  const cm = new ClusterManagerImpl({ stats: new StatsStore(), secrets });
  const sds = (name: string) => ({ name, sds_config: { ads: {}, resource_api_version: 'V3' } });
  const c = tlsCluster(cm, {
    sni: 'outbound_.8080_._.server.default.svc.cluster.local',
    common_tls_context: {
      alpn_protocols: ['istio-peer-exchange', 'istio', 'h2', 'http/1.1'],
      tls_certificate_sds_secret_configs: [sds('default')],
      combined_validation_context: { default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: SERVER_ID } }] }, validation_context_sds_secret_config: sds('ROOTCA') },
    },
  });
  const early = (await connectAsync(c, c.chooseHost({})!).catch((e: unknown) => e)) as ConnectFailure;
  assert.equal(early.failure, 'tls');
  assert.match(early.transportFailureReason, /secret "default" is not ready/);
  secrets.set('default', { kind: 'tls_certificate', certChain: clientPair.cert, privateKey: clientPair.key });
  secrets.set('ROOTCA', { kind: 'validation_context', trustedCa: pki.caPem });
  const res = await connectAsync(c, c.chooseHost({})!, ['http/1.1']);
  assert.equal(res.peerUri, SERVER_ID);
  assert.equal(res.alpn, 'http/1.1', "the caller's protocol replaces h2/http1.1; istio markers stay offered");
  assert.equal(await read(res.socket), 'tls-ok');
  assert.equal(lastClient.clientUri, CLIENT_ID);
  // A rotated root that no longer signs the server makes new handshakes fail.
  secrets.set('ROOTCA', { kind: 'validation_context', trustedCa: (await makePki('Rotated')).caPem });
  assert.equal(((await connectAsync(c, c.chooseHost({})!).catch((e: unknown) => e)) as ConnectFailure).failure, 'tls');
  cm.close();
});

test('transport_socket_matches choose mTLS for endpoints labelled tlsMode istio and plaintext for the rest', async () => {
  const { createServer: createTcp } = await import('node:net');
  const plain = createTcp((s) => s.end('plain-ok'));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  const plainPort = (plain.address() as AddressInfo).port;
  const cm = new ClusterManagerImpl({ stats: new StatsStore() });
  try {
    const c = cm.addOrUpdate(
      {
        name: 'svc',
        type: 'EDS',
        lb_policy: 'ROUND_ROBIN',
        transport_socket_matches: [
          { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: tlsSocket({ common_tls_context: { validation_context: { trusted_ca: { inline_string: pki.caPem } } } }) },
          { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } } },
        ],
      },
      'c',
    );
    cm.updateEndpoints('svc', {
      endpoints: [
        {
          lb_endpoints: [
            lbEndpoint(port, { metadata: { filter_metadata: { 'envoy.transport_socket_match': { tlsMode: 'istio' }, istio: { workload: 'server' } } } }),
            lbEndpoint(plainPort, { metadata: { filter_metadata: { istio: { workload: 'legacy' } } } }),
          ],
        },
      ],
    });
    const [tlsHost, plainHost] = c.hosts;
    assert.equal(c.transportMatchName(tlsHost), 'tlsMode-istio');
    assert.equal(c.transportMatchName(plainHost), 'tlsMode-disabled');
    assert.equal(await read((await connectAsync(c, tlsHost)).socket), 'tls-ok');
    assert.equal(await read((await connectAsync(c, plainHost)).socket), 'plain-ok');
  } finally {
    cm.close();
    plain.close();
  }
});

test('bad TLS config is rejected naming the field', () => {
  const cm = new ClusterManagerImpl({ stats: new StatsStore() });
  const cases: [JsonObject, string][] = [
    [{ common_tls_context: { validation_context: { trusted_ca: { filename: '/nonexistent/ca.pem' } } } }, 'c.transport_socket.typed_config.common_tls_context.validation_context.trusted_ca.filename'],
    [{ common_tls_context: { validation_context: { match_typed_subject_alt_names: [{ san_type: 'OTHER_NAME', matcher: { exact: 'x' } }] } } }, 'c.transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[0].san_type'],
    [{ common_tls_context: { tls_params: { tls_minimum_protocol_version: 'SSLv3' } } }, 'c.transport_socket.typed_config.common_tls_context.tls_params.tls_minimum_protocol_version'],
    [{ common_tls_context: { key_log: {} } }, 'c.transport_socket.typed_config.common_tls_context.key_log'],
    [{ common_tls_context: { validation_context: { match_subject_alt_names: [{ safe_regex: { regex: '(' } }] } } }, 'c.transport_socket.typed_config.common_tls_context.validation_context.match_subject_alt_names[0].safe_regex.regex'],
  ];
  for (const [ctx, field] of cases) {
    assert.throws(() => tlsCluster(cm, ctx), (e: unknown) => (e as { field?: string }).field === field, field);
  }
  assert.throws(
    () => cm.addOrUpdate({ name: 'x', load_assignment: { endpoints: [] }, transport_socket: { name: 'alts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.alts.v3.Alts' } } }, 'c'),
    (e: unknown) => (e as { field?: string }).field === 'c.transport_socket.typed_config.@type',
  );
  cm.close();
});
