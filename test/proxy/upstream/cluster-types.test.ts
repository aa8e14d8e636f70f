import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Backend, fetchName, lbEndpoint, newManager, startBackend } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

test('EDS: no hosts until endpoints arrive; service_name links the assignment; replacement keeps endpoints', async () => {
  const [a, b] = await Promise.all(['a', 'b'].map(startBackend));
  const { cm, stats } = newManager();
  try {
    const c = cm.addOrUpdate({ name: 'outbound|80||svc', type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'svc-eds' } }, 'c');
    assert.equal(c.chooseHost({}), null, 'no hosts before EDS');
    cm.updateEndpoints('svc-eds', { cluster_name: 'svc-eds', endpoints: [{ lb_endpoints: [lbEndpoint(a.port)] }] });
    assert.equal(await fetchName(c, c.chooseHost({})!), 'a');
    assert.equal(stats.counter('cluster.outbound|80||svc.update_success').value, 1);
    // Endpoints that arrive before their cluster are used when it comes.
    cm.updateEndpoints('later', { endpoints: [{ lb_endpoints: [lbEndpoint(b.port)] }] });
    const later = cm.addOrUpdate({ name: 'later', type: 'EDS' }, 'c');
    assert.equal(await fetchName(later, later.chooseHost({})!), 'b');
    // A CDS update of the cluster keeps the endpoints EDS gave it.
    const replaced = cm.addOrUpdate({ name: 'outbound|80||svc', type: 'EDS', lb_policy: 'RANDOM', eds_cluster_config: { service_name: 'svc-eds' } }, 'c');
    assert.equal(await fetchName(replaced, replaced.chooseHost({})!), 'a');
    cm.removeEndpoints('svc-eds');
    assert.equal(replaced.chooseHost({}), null);
    assert.throws(
      () => cm.updateEndpoints('svc-eds', { endpoints: [{ lb_endpoints: [{ endpoint: {} }] }] }, 'endpoints[svc-eds]'),
      (e: unknown) => (e as { field?: string }).field === 'endpoints[svc-eds].endpoints[0].lb_endpoints[0].endpoint.address',
    );
  } finally {
    cm.close();
    await Promise.all([a.close(), b.close()]);
  }
});

test('STRICT_DNS resolves names through the system resolver into one host per address', async () => {
  const backend = await startBackend('dns');
  const { cm } = newManager();
  try {
    const c = cm.addOrUpdate(
      {
        name: 'dns',
        type: 'STRICT_DNS',
        dns_lookup_family: 'V4_ONLY',
        dns_refresh_rate: '0.1s',
        load_assignment: { endpoints: [{ lb_endpoints: [lbEndpoint(backend.port, {}, 'localhost'), lbEndpoint(backend.port + 0, { load_balancing_weight: 2 }, '127.0.0.1')] }] },
      },
      'c',
    );
    await until(() => c.hosts.length > 0);
    // localhost → 127.0.0.1 is the same address as the literal: one host (Envoy dedups too).
    assert.equal(c.hosts.length, 1);
    assert.equal(c.hosts[0].address, '127.0.0.1');
    assert.equal(await fetchName(c, c.chooseHost({})!), 'dns');
    const host = c.hosts[0];
    await sleep(250);
    assert.equal(c.hosts[0], host, 'refreshes keep the host object');
  } finally {
    cm.close();
    await backend.close();
  }
});

test('STRICT_DNS keeps the last addresses when a lookup fails; LOGICAL_DNS has one host that follows the name', async () => {
  const backend = await startBackend('logical');
  const { cm } = newManager();
  try {
    const bad = cm.addOrUpdate(
      { name: 'bad', type: 'STRICT_DNS', dns_refresh_rate: '0.05s', load_assignment: { endpoints: [{ lb_endpoints: [lbEndpoint(80, {}, 'no-such-host.invalid')] }] } },
      'c',
    );
    await sleep(150);
    assert.equal(bad.hosts.length, 0);
    const logical = cm.addOrUpdate(
      { name: 'logical', type: 'LOGICAL_DNS', dns_lookup_family: 'V4_ONLY', load_assignment: { endpoints: [{ lb_endpoints: [lbEndpoint(backend.port, {}, 'localhost')] }] } },
      'c',
    );
    await until(() => logical.hosts.length === 1);
    assert.equal(logical.hosts[0].hostname, 'localhost');
    assert.equal(await fetchName(logical, logical.chooseHost({})!), 'logical');
    assert.throws(
      () => cm.addOrUpdate({ name: 'two', type: 'LOGICAL_DNS', load_assignment: { endpoints: [{ lb_endpoints: [lbEndpoint(1, {}, 'a'), lbEndpoint(2, {}, 'b')] }] } }, 'c'),
      (e: unknown) => (e as { field?: string }).field === 'c.load_assignment',
    );
  } finally {
    cm.close();
    await backend.close();
  }
});

test('ORIGINAL_DST connects where the downstream was going, and drops hosts unused for a cleanup interval', async () => {
  const backends: Backend[] = await Promise.all(['x', 'y'].map(startBackend));
  const { cm } = newManager();
  try {
    const c = cm.addOrUpdate({ name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', cleanup_interval: '0.1s', original_dst_lb_config: { use_http_header: true } }, 'c');
    assert.equal(c.info.originalDstHttpHeader, 'x-envoy-original-dst-host');
    assert.equal(c.chooseHost({}), null, 'no original destination: no host');
    const hx = c.chooseHost({ originalDst: { address: '127.0.0.1', port: backends[0].port } })!;
    const hy = c.chooseHost({ originalDst: { address: '127.0.0.1', port: backends[1].port } })!;
    assert.equal(await fetchName(c, hx), 'x');
    assert.equal(await fetchName(c, hy), 'y');
    assert.equal(c.chooseHost({ originalDst: { address: '127.0.0.1', port: backends[0].port } }), hx, 'same destination, same host');
    assert.equal(c.hosts.length, 2);
    hy.activeRequests = 1;
    await until(() => c.hosts.length === 1, 3000);
    assert.deepEqual(c.hosts.map((h) => h.port), [backends[1].port], 'the idle unused host is gone; the busy one stays');
    await sleep(250);
    assert.equal(c.hosts.length, 1, 'a host with requests in flight is kept');
    assert.throws(() => cm.addOrUpdate({ name: 'o', type: 'ORIGINAL_DST', lb_policy: 'ROUND_ROBIN' }, 'c'), (e: unknown) => (e as { field?: string }).field === 'c.lb_policy');
    assert.throws(() => cm.addOrUpdate({ name: 'o', type: 'STATIC', lb_policy: 'CLUSTER_PROVIDED', load_assignment: {} }, 'c'), (e: unknown) => (e as { field?: string }).field === 'c.lb_policy');
  } finally {
    cm.close();
    await Promise.all(backends.map((b) => b.close()));
  }
});

test('protocol options compile into ClusterInfo (HTTP/2, max requests per connection, idle timeout)', () => {
  const { cm } = newManager();
  const c = cm.addOrUpdate(
    {
      name: 'h2',
      type: 'EDS',
      lb_policy: 'LEAST_REQUEST',
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          common_http_protocol_options: { idle_timeout: '30s', max_requests_per_connection: 7 },
          explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 100 } },
        },
      },
    },
    'c',
  );
  assert.equal(c.info.upstreamProtocol, 'http2');
  assert.equal(c.info.maxRequestsPerConnection, 7);
  assert.equal(c.info.idleTimeoutMs, 30000);
  assert.equal(c.info.http2MaxConcurrentStreams, 100);
  assert.equal(c.info.lbPolicy, 'LEAST_REQUEST');
  const d = cm.addOrUpdate({ name: 'd', type: 'EDS', connect_timeout: '0.5s' }, 'c');
  assert.equal(d.info.upstreamProtocol, 'http1');
  assert.equal(d.info.connectTimeoutMs, 500);
  assert.equal(d.info.idleTimeoutMs, 3600000);
  const down = cm.addOrUpdate({ name: 'u', type: 'EDS', protocol_selection: 'USE_DOWNSTREAM_PROTOCOL' }, 'c');
  assert.equal(down.info.upstreamProtocol, 'use_downstream');
  cm.close();
});
