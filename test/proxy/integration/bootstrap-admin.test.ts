/**
 * The real proxy process: bootstrap errors with file:line, admin endpoints, health port, garbage
 * input, and memory under 10,000 idle connections. Runs without clusters so it needs no other part.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { adminBlock, httpGet, runProxy, runProxyExpectExit, staticCluster, TLS_INSPECTOR, tcpListener, tcpProxyFilter } from './harness.js';

test('an unsupported field stops the proxy with file:line and the field path, no stack trace', async () => {
  const yaml = [
    'admin:',
    '  address: {socket_address: {address: 127.0.0.1, port_value: 0}}',
    'static_resources:',
    '  listeners:',
    '  - name: l',
    '    address: {socket_address: {address: 127.0.0.1, port_value: 0}}',
    '    filter_chains:',
    '    - filters:',
    '      - name: envoy.filters.network.tcp_proxy',
    '        typed_config:',
    '          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
    '          stat_prefix: x',
    '          cluster: c',
    '          frobnicate: true',
    '',
  ].join('\n');
  const r = await runProxyExpectExit(yaml);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bootstrap\.yaml:14: static_resources\.listeners\[0\]\.filter_chains\[0\]\.filters\[0\]\.typed_config\.frobnicate: field "frobnicate" is not supported/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const top = await runProxyExpectExit('node: {id: a}\nstatic_resource: {}\n');
  assert.match(top.stderr, /bootstrap\.yaml:2: static_resource: field "static_resource" is not supported/);
  const broken = await runProxyExpectExit('{"node": ', 'bootstrap.json');
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /bootstrap\.json/);
  const badLog = await runProxyExpectExit('admin:\n  address: {socket_address: {port_value: 0}}\n  access_log:\n  - typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig}\n');
  assert.match(badLog.stderr, /bootstrap\.yaml:4: admin\.access_log\[0\]\.typed_config\.@type: access logger/);
  const badPort = await runProxyExpectExit('admin:\n  address:\n    socket_address: {address: 127.0.0.1, port_value: 70000}\n');
  assert.match(badPort.stderr, /bootstrap\.yaml:3: admin\.address\.socket_address\.port_value: must be at most 65535/);
});

test('admin endpoints: listeners with real ports, config_dump shape, stats, prometheus, ready, server_info, health port, drain and quit', async (t) => {
  const p = await runProxy(
    {
      node: { id: 'sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local', cluster: 'pod.ns', metadata: { NAMESPACE: 'ns' } },
      admin: {
        ...adminBlock(),
        access_log: [{ name: 'envoy.access_loggers.stdout', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: { text_format_source: { inline_string: 'admin %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE%\n' } } } }],
      },
      static_resources: { listeners: [tcpListener('tcp_in', [{ filters: [tcpProxyFilter('missing')] }])] },
    },
    ['--health-port', '0'],
  );
  t.after(() => p.stop());
  const port = p.ports.get('tcp_in')!;
  assert.ok(port > 0);
  const listeners = await httpGet(p.adminPort, '/listeners');
  assert.equal(listeners.body.trim(), `tcp_in::127.0.0.1:${port}`);
  const json = JSON.parse((await httpGet(p.adminPort, '/listeners?format=json')).body);
  assert.equal(json.listener_statuses[0].local_address.socket_address.port_value, port);
  const dump = JSON.parse((await httpGet(p.adminPort, '/config_dump')).body);
  assert.deepEqual(
    dump.configs.map((c: { '@type': string }) => c['@type'].split('.').pop()),
    ['BootstrapConfigDump', 'ClustersConfigDump', 'ListenersConfigDump', 'RoutesConfigDump', 'SecretsConfigDump'],
  );
  assert.equal(dump.configs[2].static_listeners[0].listener.name, 'tcp_in');
  assert.equal(dump.configs[2].static_listeners[0].listener['@type'], 'type.googleapis.com/envoy.config.listener.v3.Listener');
  // A connection to a missing cluster is closed and counted (NC).
  await new Promise<void>((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write('x'));
    s.on('close', () => resolve());
    s.on('error', () => {});
  });
  const stats = await httpGet(p.adminPort, '/stats');
  assert.match(stats.body, new RegExp(`listener\\.127\\.0\\.0\\.1_${port}\\.downstream_cx_total: 1`));
  assert.match(stats.body, /tcp\.missing\.downstream_cx_no_route: 1/);
  const prom = await httpGet(p.adminPort, '/stats/prometheus');
  assert.match(prom.body, new RegExp(`envoy_listener_downstream_cx_total\\{envoy_listener_address="127.0.0.1_${port}"\\} 1`));
  assert.match(prom.body, /# TYPE envoy_tcp_downstream_cx_total counter/);
  assert.equal((await httpGet(p.adminPort, '/ready')).status, 200);
  const statsJson = JSON.parse((await httpGet(p.adminPort, '/stats?format=json&filter=no_route')).body);
  assert.deepEqual(statsJson, { stats: [{ name: 'tcp.missing.downstream_cx_no_route', value: 1 }] });
  assert.equal((await httpGet(p.adminPort, '/stats?filter=(')).status, 400);
  const only = JSON.parse((await httpGet(p.adminPort, '/config_dump?resource=static_listeners')).body);
  assert.equal(only.configs.length, 1);
  assert.equal(only.configs[0].listener.name, 'tcp_in');
  assert.deepEqual(JSON.parse((await httpGet(p.adminPort, '/clusters?format=json')).body), { cluster_statuses: [] });
  assert.equal((await httpGet(p.adminPort, '/nope')).status, 404);
  assert.match((await httpGet(p.adminPort, '/')).body, /\/quitquitquit \(POST\)/);
  assert.match(p.stdout(), /^admin GET \/listeners 200$/m);
  const info = JSON.parse((await httpGet(p.adminPort, '/server_info')).body);
  assert.equal(info.state, 'LIVE');
  assert.equal(info.node.id, 'sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local');
  assert.equal((await httpGet(p.healthPort!, '/healthz/ready')).status, 200);
  assert.match((await httpGet(p.healthPort!, '/stats/prometheus')).body, /envoy_listener_downstream_cx_total/);
  assert.equal((await httpGet(p.healthPort!, '/config_dump')).status, 404);
  assert.equal((await httpGet(p.adminPort, '/quitquitquit')).status, 405);
  assert.equal((await httpGet(p.adminPort, '/drain_listeners', { method: 'POST' })).status, 200);
  assert.equal((await httpGet(p.adminPort, '/ready')).status, 503);
  assert.equal((await httpGet(p.healthPort!, '/healthz/ready')).status, 503);
  const refused = await new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => resolve(true));
    s.on('connect', () => (s.destroy(), resolve(false)));
  });
  assert.equal(refused, true);
  assert.equal((await httpGet(p.adminPort, '/quitquitquit', { method: 'POST' })).status, 200);
  assert.equal(await p.exited, 0);
});

test('garbage, truncated TLS and abrupt resets never crash the proxy', async (t) => {
  const p = await runProxy({
    admin: adminBlock(),
    static_resources: {
      listeners: [
        tcpListener('inspect', [{ filter_chain_match: { transport_protocol: 'tls', server_names: ['*.a.com'] }, filters: [tcpProxyFilter('none')] }, { filters: [tcpProxyFilter('none')] }], {
          listener_filters: [TLS_INSPECTOR, { name: 'envoy.filters.listener.http_inspector' }],
          listener_filters_timeout: '0.2s',
        }),
      ],
    },
  });
  t.after(() => p.stop());
  const port = p.ports.get('inspect')!;
  const payloads: Buffer[] = [
    randomBytes(5000),
    Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00]),
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0xff, 0xff, 0xff]),
    Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00]), randomBytes(16389)]),
    Buffer.from('GET / HTTP/1.1\r\n'),
    Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    Buffer.alloc(0),
  ];
  await Promise.all(
    payloads.flatMap((payload) =>
      [false, true].map(
        (reset) =>
          new Promise<void>((resolve) => {
            const s = connect(port, '127.0.0.1', () => {
              if (payload.length) s.write(payload);
              if (reset) s.resetAndDestroy();
            });
            s.on('error', () => {});
            s.on('close', () => resolve());
            setTimeout(() => (s.destroy(), resolve()), 2000);
          }),
      ),
    ),
  );
  assert.equal(p.proc.exitCode, null);
  assert.equal((await httpGet(p.adminPort, '/ready')).status, 200);
  assert.doesNotMatch(p.stderr(), /internal error/);
});

test('10,000 idle connections keep memory bounded', async (t) => {
  const p = await runProxy({
    admin: adminBlock(),
    // The TLS inspector waits for a first byte that never comes (timeout disabled): each connection stays open and idle.
    static_resources: { listeners: [tcpListener('idle', [{ filters: [tcpProxyFilter('none')] }], { listener_filters: [TLS_INSPECTOR], listener_filters_timeout: '0s' })] },
  });
  const sockets: Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await p.stop();
  });
  const port = p.ports.get('idle')!;
  const before = p.rssKiB();
  const N = 10_000;
  for (let i = 0; i < N; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, N - i) }, () =>
        new Promise<void>((resolve, reject) => {
          const s = connect(port, '127.0.0.1', () => resolve());
          s.on('error', reject);
          sockets.push(s);
        }),
      ),
    );
  }
  // Wait until the proxy has accepted them all.
  for (let i = 0; i < 50; i++) {
    const stats = await httpGet(p.adminPort, '/stats?filter=downstream_cx_active');
    if (new RegExp(`downstream_cx_active: ${N}`).test(stats.body)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const stats = await httpGet(p.adminPort, '/stats?filter=downstream_cx_active');
  assert.match(stats.body, new RegExp(`downstream_cx_active: ${N}`));
  const after = p.rssKiB();
  const perConn = ((after - before) * 1024) / N;
  console.log(`# RSS before ${before} KiB, with ${N} idle connections ${after} KiB (${perConn.toFixed(0)} bytes/connection)`);
  assert.ok(after < 400 * 1024, `RSS ${after} KiB`);
  assert.ok(perConn < 16 * 1024, `${perConn} bytes per connection`);
});

test('10,000 idle keep-alive HTTP connections, each after one request, keep memory bounded', async (t) => {
  const web = createHttpServer((req, res) => {
    req.resume();
    res.end('ok');
  });
  web.keepAliveTimeout = 120_000;
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const p = await runProxy({
    admin: adminBlock(),
    static_resources: {
      clusters: [staticCluster('web', [(web.address() as { port: number }).port])],
      listeners: [
        tcpListener('http', [
          {
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                  stat_prefix: 'in',
                  http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
                  route_config: { name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'web' } }] }] },
                },
              },
            ],
          },
        ]),
      ],
    },
  }).catch((e: unknown) => {
    // Close what was started, or a proxy that fails to start leaves the file hanging to the runner's timeout.
    web.close();
    throw e;
  });
  const sockets: Socket[] = [];
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await p.stop();
    web.closeAllConnections();
    web.close();
  });
  const port = p.ports.get('http')!;
  const before = p.rssKiB();
  const N = 10_000;
  let answered = 0;
  for (let i = 0; i < N; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, N - i) }, () =>
        new Promise<void>((resolve, reject) => {
          const s = connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
          let got = '';
          const onData = (d: Buffer): void => {
            got += d;
            if (got.endsWith('ok')) {
              answered++;
              s.removeListener('data', onData);
              resolve();
            }
          };
          s.on('data', onData);
          s.on('error', reject);
          sockets.push(s);
        }),
      ),
    );
  }
  assert.equal(answered, N);
  const stats = await httpGet(p.adminPort, '/stats?filter=downstream_cx_active');
  assert.match(stats.body, new RegExp(`downstream_cx_active: ${N}`));
  const after = p.rssKiB();
  const perConn = ((after - before) * 1024) / N;
  console.log(`# HTTP keep-alive: RSS before ${before} KiB, with ${N} idle connections ${after} KiB (${perConn.toFixed(0)} bytes/connection)`);
  assert.ok(after < 512 * 1024, `RSS ${after} KiB`);
  assert.ok(perConn < 32 * 1024, `${perConn} bytes per connection`);
});
