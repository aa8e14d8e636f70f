/**
 * The pieces the egress gateway tasks needed below the e2e level: gateway pods are plaintext endpoints
 * under auto mTLS, DestinationRules for one host merge their subsets, a TLS server accepts a client whose
 * ALPN offer it does not share (as Envoy does), and DNS clusters fall back to the pod's DNS proxy.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect as tlsConnect } from 'node:tls';
import { after, describe, it } from 'node:test';
import type { LoadedResource } from '../../src/config/resource.js';
import { IstioConfig } from '../../src/pilot/istio-config.js';
import { TypeUrl } from '../../src/xds/protos.js';
import { ListenerManager } from '../../src/proxy/listener/listener-manager.js';
import { registerNetworkFilter } from '../../src/proxy/listener/connection.js';
import type { ClusterConfig } from '../../src/proxy/upstream/cluster-config.js';
import { DnsDiscovery } from '../../src/proxy/upstream/discovery/dns.js';
import { POD_DNS_PROXY, resolveName } from '../../src/proxy/upstream/discovery/dns-resolver.js';
import { buildRegistry } from '../../src/registry/service-registry.js';
import { testContext } from '../proxy/listener/fake-upstream.js';
import { makePki } from '../proxy/tls/certs.js';
import { resource, service } from '../registry/helpers.js';
import { bookinfoServices, snapshot } from './bookinfo-fixture.js';
import { generate, sidecarProxy } from './generate.js';
import { FakeServices } from './fake-services.js';

const gatewayPod = (name: string, labels: Record<string, string>, args: string[]): LoadedResource =>
  resource('v1', 'Pod', { name, namespace: 'istio-system', labels, annotations: { 'sidecar.istio.io/inject': 'false' } }, {
    containers: [{ name: 'istio-proxy', image: 'proxyv2', args }],
  }, { status: { podIP: labels.ip ?? '10.88.0.9' } });

describe('egress: registry, pilot and proxy pieces', () => {
  it('a gateway pod (istio-proxy run as "proxy router") is a plaintext endpoint unless labelled otherwise', () => {
    const r = buildRegistry([
      service('istio-egressgateway', { selector: { istio: 'egressgateway' }, ports: [{ name: 'http2', port: 80, targetPort: 8080 }] }, { namespace: 'istio-system' }),
      gatewayPod('egw', { istio: 'egressgateway' }, ['proxy', 'router']),
      gatewayPod('egw-labelled', { istio: 'egressgateway', 'security.istio.io/tlsMode': 'istio', ip: '10.88.0.10' }, ['proxy', 'router']),
    ]);
    const eps = r.endpoints('istio-egressgateway.istio-system.svc.cluster.local', 80);
    assert.deepEqual(eps.map((e) => `${e.address} ${e.tlsMode}`).sort(), ['10.88.0.10 istio', '10.88.0.9 disabled']);
  });

  it('DestinationRules for the same host in one namespace merge their subsets; the first policy wins', () => {
    const dr = (name: string, spec: Record<string, unknown>) => resource('networking.istio.io/v1', 'DestinationRule', { name }, spec);
    const host = 'istio-egressgateway.istio-system.svc.cluster.local';
    const cfg = new IstioConfig([
      dr('for-ext', { host, subsets: [{ name: 'ext' }] }),
      dr('for-secure', { host, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } }, subsets: [{ name: 'secure' }, { name: 'ext', labels: { x: 'y' } }] }),
    ]);
    const merged = cfg.destinationRule(host, 'default', 'istio-system')!;
    assert.deepEqual(merged.subsets, [{ name: 'ext' }, { name: 'secure' }]);
    assert.deepEqual(merged.trafficPolicy, { loadBalancer: { simple: 'RANDOM' } });
  });

  it('a TLS service with a VIP gets <vip>_<port> besides its SNI chain, so an IP-only client reaches it', () => {
    const base = bookinfoServices();
    const tlsNone = {
      hostname: 'none.example.test',
      namespace: 'default',
      addresses: ['203.0.113.11'],
      ports: [{ port: 443, name: 'tls', protocol: 'TLS' }],
      resolution: 'Passthrough',
      meshExternal: true,
      exportTo: new Set(['*']),
      serviceAccounts: [],
      source: 'serviceentry',
    } as unknown as (typeof base.list)[number];
    const services = new FakeServices([...base.list, tlsNone], base.pods, base.selectors);
    const snap = snapshot('', { outboundTrafficPolicy: 'REGISTRY_ONLY' }, services);
    const listeners = generate(snap, sidecarProxy('10.88.0.10', 'productpage-v1-abc', 'default', { app: 'productpage' }), TypeUrl.Listener);
    const vip = listeners.get('203.0.113.11_443');
    assert.ok(vip, `listeners: ${[...listeners.keys()].join(' ')}`);
    assert.match(JSON.stringify(vip), /outbound\|443\|\|none\.example\.test/);
    assert.match(JSON.stringify(listeners.get('0.0.0.0_443')), /"server_names":\["none\.example\.test"\]/);
  });

  it('a TLS server whose ALPN list the client does not share completes the handshake without ALPN', async (t) => {
    const pki = makePki();
    after(() => pki.cleanup());
    registerNetworkFilter('type.googleapis.com/test.AlpnReply', () => ({
      onNewConnection(conn) {
        conn.socket.end(`alpn=${(conn.socket as import('node:tls').TLSSocket).alpnProtocol || 'none'}`);
        return true;
      },
    }));
    const { ctx, secrets } = testContext();
    const server = pki.leaf('server', ['DNS:server.test']);
    secrets.addOrUpdate({ name: 'default', tls_certificate: { certificate_chain: { inline_string: server.cert }, private_key: { inline_string: server.key } } }, 's');
    const lm = new ListenerManager(ctx, { drainTimeMs: 100 });
    t.after(() => lm.close());
    await lm.addOrUpdate(
      {
        name: 'alpn',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }],
        filter_chains: [
          {
            filters: [{ name: 'r', typed_config: { '@type': 'type.googleapis.com/test.AlpnReply' } }],
            transport_socket: {
              name: 'tls',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
                common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'default' }], alpn_protocols: ['h2', 'http/1.1'] },
              },
            },
          },
        ],
      } as never,
      'l',
    );
    const port = lm.get('alpn')!.port;
    const call = (alpn: string[]) =>
      new Promise<string>((resolve, reject) => {
        const c = tlsConnect({ port, host: '127.0.0.1', servername: 'server.test', ca: pki.ca, ALPNProtocols: alpn }, () => {
          let s = '';
          c.on('data', (d) => (s += d));
          c.on('end', () => resolve(s));
        });
        c.on('error', reject);
      });
    assert.equal(await call(['istio-peer-exchange', 'istio']), 'alpn=none');
    assert.equal(await call(['istio', 'h2']), 'alpn=h2');
  });

  it('a DNS name the system resolver does not know is asked of the pod DNS proxy on 127.0.0.1:15053; respect_dns_ttl re-asks at the TTL', async (t) => {
    // Stands in for the pod's DNS proxy: answers every A query with 192.0.2.7, TTL 1 s (skipped if 15053 is taken).
    const sock = createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      sock.once('error', () => resolve(false));
      sock.bind(15053, '127.0.0.1', () => resolve(true));
    });
    if (!bound) {
      t.skip('127.0.0.1:15053 is in use');
      return;
    }
    t.after(() => sock.close());
    let queries = 0;
    sock.on('message', (q, rinfo) => {
      const header = Buffer.from(q.subarray(0, 12));
      header.writeUInt16BE(0x8180, 2); // response, recursion available, no error
      header.writeUInt16BE(1, 6); // one answer
      header.writeUInt16BE(0, 8);
      header.writeUInt16BE(0, 10);
      let end = 12;
      while (q[end] !== 0) end += q[end] + 1;
      const question = q.subarray(12, end + 5); // the name, its terminating zero, type and class
      queries++;
      const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 192, 0, 2, 7]);
      sock.send(Buffer.concat([header, question, answer]), rinfo.port, rinfo.address);
    });
    const got = await new Promise<string[]>((resolve, reject) =>
      resolveName('only-the-mesh-knows.invalid', 4, POD_DNS_PROXY, (err, addrs) => (err ? reject(err) : resolve(addrs.map((a) => a.address)))),
    );
    assert.deepEqual(got, ['192.0.2.7']);

    // A STRICT_DNS cluster with a 60 s refresh rate but respect_dns_ttl resolves again after the 1 s TTL.
    const before = queries;
    const publishes: string[][] = [];
    const cfg = {
      type: 'STRICT_DNS',
      loadAssignment: { endpoints: [{ address: 'only-the-mesh-knows.invalid', port: 80 }], overprovisioningFactor: 140 },
      dnsRefreshRateMs: 60_000,
      respectDnsTtl: true,
      dnsFamily: 'V4_ONLY',
    } as unknown as ClusterConfig;
    const dns = new DnsDiscovery(cfg, (specs) => publishes.push(specs.map((x) => x.address)), () => {});
    t.after(() => dns.close());
    const deadline = Date.now() + 10_000;
    while (queries - before < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(queries - before >= 2, `resolved ${queries - before} time(s) in 10 s`);
    assert.deepEqual(publishes[0], ['192.0.2.7']);
  });
});
