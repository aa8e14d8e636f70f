import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import '../../../src/proxy/tcp/tcp-proxy.js';
import { ListenerManager } from '../../../src/proxy/listener/listener-manager.js';
import { SailfinError } from '../../../src/common/errors.js';
import { echoServer, exchange, tcpChain, testContext } from './fake-upstream.js';
import { makePki } from '../tls/certs.js';

const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };
const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const pki = makePki();
after(() => pki.cleanup());

function listener(name: string, chains: object[], extra: object = {}): Record<string, never> {
  return { name, address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: chains, ...extra } as never;
}

test('tcp_proxy carries bytes both ways and counts connections', async (t) => {
  const { ctx, clusters } = testContext();
  const a = await echoServer('a');
  clusters.add('a', [['127.0.0.1', a.port]]);
  const lm = new ListenerManager(ctx, { drainTimeMs: 100 });
  t.after(() => (lm.close(), a.close()));
  await lm.addOrUpdate(listener('l', [tcpChain('a')]), 'l');
  const port = lm.get('l')!.port;
  assert.equal(await exchange(port, 'hello', 7), 'a:hello');
  assert.equal(ctx.stats.counter(`listener.127.0.0.1_${port}.downstream_cx_total`).value, 1);
  assert.equal(ctx.stats.counter('tcp.a.downstream_cx_rx_bytes_total').value, 5);
});

test('SNI passthrough: the ClientHello reaches the backend untouched, chosen by server name', async (t) => {
  const { ctx, clusters } = testContext();
  const leaf = pki.leaf('b', ['DNS:b.example.com']);
  // The backend terminates TLS itself: if the proxy altered one byte, the handshake would fail.
  const { createServer } = await import('node:tls');
  const backend = createServer({ cert: leaf.cert, key: leaf.key }, (s) => s.end('backend-b'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const other = await echoServer('other');
  clusters.add('b', [['127.0.0.1', (backend.address() as { port: number }).port]]);
  clusters.add('other', [['127.0.0.1', other.port]]);
  const lm = new ListenerManager(ctx, { drainTimeMs: 100 });
  t.after(() => (lm.close(), backend.close(), other.close()));
  await lm.addOrUpdate(listener('sni', [tcpChain('b', { server_names: ['*.example.com'] }), tcpChain('other')], { listener_filters: [TLS_INSPECTOR] }), 'l');
  const port = lm.get('sni')!.port;
  const got = await new Promise<string>((resolve, reject) => {
    const c = tlsConnect({ port, host: '127.0.0.1', servername: 'b.example.com', ca: pki.ca }, () => {
      let s = '';
      c.on('data', (d) => (s += d));
      c.on('end', () => resolve(s));
    });
    c.on('error', reject);
  });
  assert.equal(got, 'backend-b');
  assert.equal(await exchange(port, 'plain', 11), 'other:plain');
});

test('TLS termination with client certificates exposes the peer SPIFFE identity; SDS rotation applies to new handshakes', async (t) => {
  const { ctx, clusters, secrets } = testContext();
  const a = await echoServer('a');
  clusters.add('a', [['127.0.0.1', a.port]]);
  const server1 = pki.leaf('server1', ['DNS:server.test']);
  const server2 = pki.leaf('server2', ['DNS:server.test']);
  const client = pki.leaf('client', ['URI:spiffe://cluster.local/ns/default/sa/sleep']);
  secrets.addOrUpdate({ name: 'default', tls_certificate: { certificate_chain: { inline_string: server1.cert }, private_key: { inline_string: server1.key } } }, 's');
  secrets.addOrUpdate({ name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: pki.ca } } }, 's');
  const lm = new ListenerManager(ctx, { drainTimeMs: 100 });
  t.after(() => (lm.close(), a.close()));
  let peerUri: string | undefined;
  const { registerNetworkFilter } = await import('../../../src/proxy/listener/connection.js');
  registerNetworkFilter('type.googleapis.com/test.Identity', () => ({
    onNewConnection(conn) {
      peerUri = conn.peerUri;
      conn.socket.end(`id=${conn.peerUri};alpn=${conn.alpn?.join(',')}`);
      return true;
    },
  }));
  const tlsContext = {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': DOWNSTREAM_TLS,
      require_client_certificate: true,
      common_tls_context: {
        tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { ads: {} } }],
        validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { ads: {} } },
        alpn_protocols: ['h2', 'http/1.1'],
      },
    },
  };
  await lm.addOrUpdate(listener('mtls', [{ filters: [{ name: 'id', typed_config: { '@type': 'type.googleapis.com/test.Identity' } }], transport_socket: tlsContext }], { listener_filters: [TLS_INSPECTOR] }), 'l');
  const port = lm.get('mtls')!.port;
  const handshake = (withCert: boolean) =>
    new Promise<{ text: string; serverCert: string }>((resolve, reject) => {
      const c = tlsConnect({ port, host: '127.0.0.1', servername: 'server.test', ca: pki.ca, ALPNProtocols: ['http/1.1'], ...(withCert ? { cert: client.cert, key: client.key } : {}) }, () => {
        const serverCert = c.getPeerCertificate().fingerprint256;
        let s = '';
        c.on('data', (d) => (s += d));
        c.on('end', () => resolve({ text: s, serverCert }));
      });
      c.on('error', reject);
    });
  const first = await handshake(true);
  assert.equal(first.text, 'id=spiffe://cluster.local/ns/default/sa/sleep;alpn=http/1.1');
  assert.equal(peerUri, 'spiffe://cluster.local/ns/default/sa/sleep');
  await assert.rejects(handshake(false));
  // A client certificate from another CA is refused too.
  const stranger = makePki();
  try {
    const leaf = stranger.leaf('x', ['URI:spiffe://evil/ns/x/sa/y']);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const c = tlsConnect({ port, host: '127.0.0.1', servername: 'server.test', ca: pki.ca, cert: leaf.cert, key: leaf.key }, () => c.once('data', resolve));
        c.on('error', reject);
        c.on('close', () => reject(new Error('closed')));
      }),
    );
  } finally {
    stranger.cleanup();
  }
  secrets.addOrUpdate({ name: 'default', tls_certificate: { certificate_chain: { inline_string: server2.cert }, private_key: { inline_string: server2.key } } }, 's');
  const second = await handshake(true);
  assert.notEqual(second.serverCert, first.serverCert);
});

test('live replacement keeps the socket: old connections finish, new ones use the new chain', async (t) => {
  const { ctx, clusters } = testContext();
  const a = await echoServer('a');
  const b = await echoServer('b');
  clusters.add('a', [['127.0.0.1', a.port]]);
  clusters.add('b', [['127.0.0.1', b.port]]);
  // A drain time long enough that a loaded machine still finishes the exchanges below inside it.
  const lm = new ListenerManager(ctx, { drainTimeMs: 2500 });
  t.after(() => (lm.close(), a.close(), b.close()));
  await lm.addOrUpdate(listener('l', [tcpChain('a')]), 'l');
  const port = lm.get('l')!.port;
  const old = connect(port, '127.0.0.1');
  let oldGot = '';
  old.on('data', (d) => (oldGot += d));
  await new Promise((r) => old.once('data', r));
  const json = listener('l', [tcpChain('b')]);
  (json as unknown as { address: unknown }).address = { socket_address: { address: '127.0.0.1', port_value: port } };
  await lm.addOrUpdate(json, 'l');
  assert.equal(lm.get('l')!.port, port);
  assert.equal(await exchange(port, 'x', 3), 'b:x');
  const closed = new Promise((r) => old.once('close', r));
  old.write('still');
  const deadline = Date.now() + 2000;
  while (oldGot.length < 'a:still'.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(oldGot, 'a:still');
  // After the drain time the old connection is closed.
  await closed;
});

test('a bad update is rejected with the field and leaves the running listener in place', async (t) => {
  const { ctx, clusters } = testContext();
  const a = await echoServer('a');
  clusters.add('a', [['127.0.0.1', a.port]]);
  const lm = new ListenerManager(ctx, { drainTimeMs: 100 });
  t.after(() => (lm.close(), a.close()));
  await lm.addOrUpdate(listener('l', [tcpChain('a')]), 'l');
  const port = lm.get('l')!.port;
  await assert.rejects(lm.addOrUpdate(listener('l', [tcpChain('a', { destination_port: 'x' })]), 'listeners[0]'), (e: unknown) => e instanceof SailfinError && e.field === 'listeners[0].filter_chains[0].filter_chain_match.destination_port');
  await assert.rejects(lm.addOrUpdate(listener('l', [{ filters: [{ name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy' } }] }]), 'L'), (e: unknown) => e instanceof SailfinError && e.field === 'L.filter_chains[0].filters[0].typed_config.@type');
  assert.equal(await exchange(port, 'ok', 4), 'a:ok');
});

test('use_original_dst hands the connection to the listener for the original destination, else uses its own chains; no chain closes', async (t) => {
  const { ctx, clusters } = testContext();
  const a = await echoServer('a');
  const pass = await echoServer('pass');
  clusters.add('a', [['127.0.0.1', a.port]]);
  clusters.add('passthrough', [['127.0.0.1', pass.port]]);
  let dst: { address: string; port: number } | undefined;
  const lm = new ListenerManager(ctx, { drainTimeMs: 100, originalDst: () => dst });
  t.after(() => (lm.close(), a.close(), pass.close()));
  await lm.addOrUpdate(listener('virtualOutbound', [tcpChain('passthrough', { destination_port: 1 })], { use_original_dst: true }), 'l');
  await lm.addOrUpdate({ name: '0.0.0.0_9080', address: { socket_address: { address: '0.0.0.0', port_value: 9080 } }, bind_to_port: false, filter_chains: [tcpChain('a')] } as never, 'l2');
  const port = lm.get('virtualOutbound')!.port;
  dst = { address: '10.1.2.3', port: 9080 };
  assert.equal(await exchange(port, 'x', 3), 'a:x');
  dst = { address: '10.1.2.3', port: 1 };
  assert.equal(await exchange(port, 'y', 6), 'pass:y');
  dst = { address: '10.1.2.3', port: 2 };
  assert.equal(await exchange(port, 'z', 1, 1000), '');
  // The original_dst listener filter alone (inbound 15006): chains match the original destination port.
  await lm.addOrUpdate(listener('inbound', [tcpChain('a', { destination_port: 9080 }), tcpChain('passthrough')], { listener_filters: [{ name: 'envoy.filters.listener.original_dst' }] }), 'l3');
  dst = { address: '10.9.9.9', port: 9080 };
  assert.equal(await exchange(lm.get('inbound')!.port, 'i', 3), 'a:i');
  dst = undefined;
  assert.equal(await exchange(lm.get('inbound')!.port, 'j', 6), 'pass:j');
  assert.equal(ctx.stats.counter(`listener.127.0.0.1_${port}.no_filter_chain_match`).value, 1);
});

test('listener_filters_timeout: a silent client is routed on timeout when continue is set, closed otherwise', async (t) => {
  const { ctx, clusters } = testContext();
  const a = await echoServer('a');
  clusters.add('a', [['127.0.0.1', a.port]]);
  const lm = new ListenerManager(ctx, { drainTimeMs: 100 });
  t.after(() => (lm.close(), a.close()));
  await lm.addOrUpdate(listener('cont', [tcpChain('a')], { listener_filters: [TLS_INSPECTOR], listener_filters_timeout: '0.1s', continue_on_listener_filters_timeout: true }), 'l');
  await lm.addOrUpdate(listener('stop', [tcpChain('a')], { listener_filters: [TLS_INSPECTOR], listener_filters_timeout: '0.1s' }), 'l');
  // Server-first protocol: the client waits for the backend's greeting.
  const greet = await new Promise<string>((resolve) => {
    const s = connect(lm.get('cont')!.port, '127.0.0.1');
    s.once('data', (d) => (s.destroy(), resolve(String(d))));
    setTimeout(() => (s.destroy(), resolve('')), 2000);
  });
  assert.equal(greet, 'a:');
  const closed = await new Promise<boolean>((resolve) => {
    const s = connect(lm.get('stop')!.port, '127.0.0.1');
    s.on('close', () => resolve(true));
    s.on('data', () => resolve(false));
    setTimeout(() => (s.destroy(), resolve(false)), 2000);
  });
  assert.equal(closed, true);
});
