import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { ListenerManager } from '../../../src/proxy/listener/listener-manager.js';
import { registerNetworkFilter } from '../../../src/proxy/listener/connection.js';
import { SailfinError } from '../../../src/common/errors.js';
import { testContext } from '../listener/fake-upstream.js';
import { makePki } from './certs.js';

const pki = makePki();
after(() => pki.cleanup());
const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

registerNetworkFilter('type.googleapis.com/test.Reply', () => ({
  onNewConnection(conn) {
    const s = conn.socket as import('node:tls').TLSSocket;
    conn.socket.end(`${conn.peerUri} ${s.getProtocol?.()}`);
    return true;
  },
}));

function listener(tlsTyped: object): Record<string, never> {
  return {
    name: 'tls',
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{ filters: [{ name: 'r', typed_config: { '@type': 'type.googleapis.com/test.Reply' } }], transport_socket: { name: 'tls', typed_config: { '@type': DOWNSTREAM_TLS, ...tlsTyped } } }],
  } as never;
}

function call(port: number, leaf?: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = tlsConnect({ port, host: '127.0.0.1', servername: 'server.test', ca: pki.ca, ...(leaf ?? {}) }, () => {
      let s = '';
      c.on('data', (d) => (s += d));
      c.on('end', () => resolve(s));
    });
    c.on('error', reject);
    c.on('close', () => reject(new Error('closed before the reply')));
  });
}

test("Istio's combined validation context: SDS root plus SAN matchers from the default context; tls_params caps the version", async (t) => {
  const { ctx, secrets } = testContext();
  const server = pki.leaf('server', ['DNS:server.test']);
  secrets.addOrUpdate({ name: 'default', tls_certificate: { certificate_chain: { inline_string: server.cert }, private_key: { inline_string: server.key } } }, 's');
  secrets.addOrUpdate({ name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: pki.ca } } }, 's');
  const lm = new ListenerManager(ctx, { drainTimeMs: 100 });
  t.after(() => lm.close());
  await lm.addOrUpdate(
    listener({
      require_client_certificate: true,
      common_tls_context: {
        tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { ads: {} } }],
        combined_validation_context: {
          default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/ns/default/' } }] },
          validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { ads: {} } },
        },
        tls_params: { tls_maximum_protocol_version: 'TLSv1_2' },
      },
    }),
    'l',
  );
  const port = lm.get('tls')!.port;
  const good = pki.leaf('good', ['URI:spiffe://cluster.local/ns/default/sa/productpage']);
  const other = pki.leaf('other', ['URI:spiffe://cluster.local/ns/other/sa/productpage']);
  assert.equal(await call(port, good), 'spiffe://cluster.local/ns/default/sa/productpage TLSv1.2');
  await assert.rejects(call(port, other));
});

test('a context whose SDS certificate has not arrived refuses handshakes until it does', async (t) => {
  const { ctx, secrets } = testContext();
  const lm = new ListenerManager(ctx, { drainTimeMs: 100 });
  t.after(() => lm.close());
  await lm.addOrUpdate(listener({ common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'late' }] } }), 'l');
  const port = lm.get('tls')!.port;
  await assert.rejects(call(port));
  const server = pki.leaf('server', ['DNS:server.test']);
  secrets.addOrUpdate({ name: 'late', tls_certificate: { certificate_chain: { inline_string: server.cert }, private_key: { inline_string: server.key } } }, 's');
  assert.match(await call(port), /^undefined TLSv1\.3$/);
});

test('bad TLS config is named by field', async () => {
  const { ctx } = testContext();
  const lm = new ListenerManager(ctx);
  const bad = async (typed: object, field: string): Promise<void> => {
    await assert.rejects(lm.addOrUpdate(listener(typed), 'L'), (e: unknown) => e instanceof SailfinError && e.field === field);
  };
  await bad({ common_tls_context: {} }, 'L.filter_chains[0].transport_socket.typed_config.common_tls_context');
  await bad({ common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'x' }], tls_params: { tls_minimum_protocol_version: 'SSLv3' } } }, 'L.filter_chains[0].transport_socket.typed_config.common_tls_context.tls_params.tls_minimum_protocol_version');
  await bad({ ocsp_staple_policy: 'STRICT_STAPLING' }, 'L.filter_chains[0].transport_socket.typed_config.ocsp_staple_policy');
  lm.close();
});
