/**
 * The real proxy process with real clusters: tcp_proxy (single and weighted), SNI passthrough with
 * the ClientHello untouched, TLS termination by SNI with certificates from static secrets, UF/UH
 * in the access log, idle timeout.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { connect } from 'node:net';
import { echoServer, exchange } from '../listener/fake-upstream.js';
import { makePki } from '../tls/certs.js';
import { adminBlock, httpGet, runProxy, staticCluster, TLS_INSPECTOR, tcpListener, tcpProxyFilter, type RunningProxy } from './harness.js';

const pki = makePki();
after(() => pki.cleanup());

const STDOUT_LOG = [{ name: 'envoy.access_loggers.stdout', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog' } }];

test('tcp_proxy: bytes both ways, weighted clusters split connections, UF and UH flags in the access log', async (t) => {
  const a = await echoServer('a');
  const b = await echoServer('b');
  const dead = await echoServer('dead');
  const deadPort = dead.port;
  dead.close();
  // Cleanup first: if the proxy fails to start, the servers must still close or the file never exits.
  let p: RunningProxy | undefined;
  t.after(async () => {
    await p?.stop();
    a.close();
    b.close();
  });
  p = await runProxy({
    admin: adminBlock(),
    static_resources: {
      clusters: [staticCluster('a', [a.port]), staticCluster('b', [b.port]), staticCluster('dead', [deadPort]), staticCluster('empty', [])],
      listeners: [
        tcpListener('one', [{ filters: [tcpProxyFilter('a', { access_log: STDOUT_LOG })] }]),
        tcpListener('split', [{ filters: [{ name: 'tcp', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'split', weighted_clusters: { clusters: [{ name: 'a', weight: 80 }, { name: 'b', weight: 20 }] } } }] }]),
        tcpListener('dead', [{ filters: [tcpProxyFilter('dead', { access_log: STDOUT_LOG, max_connect_attempts: 2 })] }]),
        tcpListener('empty', [{ filters: [tcpProxyFilter('empty', { access_log: STDOUT_LOG })] }]),
      ],
    },
  });
  assert.equal(await exchange(p.ports.get('one')!, 'ping', 6), 'a:ping');
  const counts = { a: 0, b: 0 };
  const N = 200;
  const splitPort = p.ports.get('split')!;
  for (let i = 0; i < N; i += 20) {
    const got = await Promise.all(Array.from({ length: 20 }, () => exchange(splitPort, '', 2)));
    for (const g of got) counts[g[0] as 'a' | 'b']++;
  }
  assert.equal(counts.a + counts.b, N);
  // 80/20 over 200 connections: well within ±10 points unless the split is wrong.
  assert.ok(Math.abs(counts.a / N - 0.8) < 0.1, JSON.stringify(counts));
  assert.equal(await exchange(p.ports.get('dead')!, 'x', 1, 3000), '');
  assert.equal(await exchange(p.ports.get('empty')!, 'x', 1, 3000), '');
  await new Promise((r) => setTimeout(r, 200));
  const log = p.stdout();
  assert.match(log, /"- - -" 0 - - - "-" 4 6 \d+ - "-" "-" "-" "-" "127\.0\.0\.1:\d+" a /);
  assert.match(log, /"- - -" 0 UF /);
  assert.match(log, /"- - -" 0 UH .* empty /);
  const stats = (await httpGet(p.adminPort, '/stats')).body;
  assert.match(stats, /cluster\.dead\.upstream_cx_connect_fail: 2/);
});

test('SNI routing: passthrough leaves the ClientHello untouched; a terminated chain serves its own certificate', async (t) => {
  const backendCert = pki.leaf('backend', ['DNS:pass.example.com']);
  const edgeCert = pki.leaf('edge', ['DNS:edge.example.com']);
  const backend = createTlsServer({ cert: backendCert.cert, key: backendCert.key }, (s) => s.end(`backend saw SNI ${(s as unknown as { servername: string }).servername}`));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const plain = await echoServer('plain');
  let p: RunningProxy | undefined;
  t.after(async () => {
    await p?.stop();
    backend.close();
    plain.close();
  });
  p = await runProxy({
    admin: adminBlock(),
    static_resources: {
      secrets: [{ name: 'edge-cert', tls_certificate: { certificate_chain: { inline_string: edgeCert.cert }, private_key: { inline_string: edgeCert.key } } }],
      clusters: [staticCluster('pass', [(backend.address() as { port: number }).port]), staticCluster('plain', [plain.port])],
      listeners: [
        tcpListener(
          'gateway',
          [
            { filter_chain_match: { server_names: ['*.example.com'] }, filters: [tcpProxyFilter('pass')] },
            {
              filter_chain_match: { server_names: ['edge.example.com'] },
              filters: [tcpProxyFilter('plain')],
              transport_socket: {
                name: 'envoy.transport_sockets.tls',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
                  common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'edge-cert' }] },
                },
              },
            },
          ],
          { listener_filters: [TLS_INSPECTOR], access_log: STDOUT_LOG },
        ),
      ],
    },
  });
  const port = p.ports.get('gateway')!;
  const talk = (servername: string, send: string) =>
    new Promise<{ text: string; cn: string }>((resolve, reject) => {
      const c = tlsConnect({ port, host: '127.0.0.1', servername, ca: pki.ca }, () => {
        const cn = String(c.getPeerCertificate().subject.CN);
        let text = '';
        c.on('data', (d) => {
          text += d;
          if (send && text.length >= send.length + 6) c.end();
        });
        c.on('end', () => resolve({ text, cn }));
        if (send) c.write(send);
      });
      c.on('error', reject);
    });
  assert.deepEqual(await talk('pass.example.com', ''), { text: 'backend saw SNI pass.example.com', cn: 'backend' });
  assert.deepEqual(await talk('edge.example.com', 'hello'), { text: 'plain:hello', cn: 'edge' });
  const dump = (await httpGet(p.adminPort, '/config_dump')).body;
  assert.doesNotMatch(dump, /PRIVATE KEY/);
  assert.match(dump, /\[redacted\]/);
  // No chain for a plaintext connection: closed.
  assert.equal(await exchange(port, 'GET / HTTP/1.1\r\n\r\n', 1, 2000), '');
  await new Promise((r) => setTimeout(r, 100));
  assert.match(p.stdout(), /"- - -" 0 NFCF /);
});

test('tcp_proxy idle_timeout closes a silent connection', async (t) => {
  const a = await echoServer('a');
  let p: RunningProxy | undefined;
  t.after(async () => {
    await p?.stop();
    a.close();
  });
  p = await runProxy({
    admin: adminBlock(),
    static_resources: { clusters: [staticCluster('a', [a.port])], listeners: [tcpListener('idle', [{ filters: [tcpProxyFilter('a', { idle_timeout: '0.3s' })] }])] },
  });
  const idlePort = p.ports.get('idle')!;
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const s = connect(idlePort, '127.0.0.1');
    s.on('error', () => {});
    s.resume();
    s.on('close', () => resolve());
  });
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 250 && elapsed < 5000, `closed after ${elapsed} ms`);
  assert.match((await httpGet(p.adminPort, '/stats')).body, /tcp\.a\.idle_timeout: 1/);
});
