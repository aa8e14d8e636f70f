import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatsStore } from '../../../src/proxy/stats/store.js';
import { promName, renderPrometheus, renderText } from '../../../src/proxy/stats/render.js';

test("Prometheus names follow Envoy's tag extraction, with dotted cluster names kept whole", () => {
  const clusters = new Set(['outbound|9080||reviews.default.svc.cluster.local', 'web']);
  assert.deepEqual(promName('cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total', undefined, clusters), {
    name: 'envoy_cluster_upstream_rq_total',
    labels: { envoy_cluster_name: 'outbound|9080||reviews.default.svc.cluster.local' },
  });
  assert.deepEqual(promName('listener.0.0.0.0_15006.downstream_cx_total', undefined, clusters), { name: 'envoy_listener_downstream_cx_total', labels: { envoy_listener_address: '0.0.0.0_15006' } });
  assert.deepEqual(promName('http.inbound_0.0.0.0_9080.downstream_rq_2xx', undefined), { name: 'envoy_http_downstream_rq_2xx', labels: { envoy_http_conn_manager_prefix: 'inbound_0.0.0.0_9080' } });
  assert.deepEqual(promName('server.live', undefined), { name: 'envoy_server_live', labels: {} });
  assert.deepEqual(promName('istio_requests_total', { reporter: 'source' }), { name: 'istio_requests_total', labels: { reporter: 'source' } });
});

test('renders counters, gauges and histograms with TYPE lines, escaped labels and cumulative buckets', () => {
  const s = new StatsStore();
  s.counter('cluster.web.upstream_rq_total').inc(3);
  s.gauge('cluster.web.upstream_cx_active').set(2);
  s.counter('istio_requests_total', { reporter: 'destination', destination_service: 'a"b' }).inc();
  const h = s.histogram('cluster.web.upstream_rq_time');
  h.record(3);
  h.record(700);
  const prom = renderPrometheus(s, new Set(['web']));
  assert.match(prom, /# TYPE envoy_cluster_upstream_rq_total counter\nenvoy_cluster_upstream_rq_total\{envoy_cluster_name="web"\} 3\n/);
  assert.match(prom, /# TYPE envoy_cluster_upstream_cx_active gauge\nenvoy_cluster_upstream_cx_active\{envoy_cluster_name="web"\} 2\n/);
  assert.match(prom, /istio_requests_total\{reporter="destination",destination_service="a\\"b"\} 1/);
  assert.match(prom, /envoy_cluster_upstream_rq_time_bucket\{envoy_cluster_name="web",le="5"\} 1\n/);
  assert.match(prom, /envoy_cluster_upstream_rq_time_bucket\{envoy_cluster_name="web",le="1000"\} 2\n/);
  assert.match(prom, /envoy_cluster_upstream_rq_time_count\{envoy_cluster_name="web"\} 2\n/);
  const text = renderText(s, /upstream/);
  assert.match(text, /^cluster\.web\.upstream_cx_active: 2\ncluster\.web\.upstream_rq_time: P0\(/);
  assert.doesNotMatch(text, /istio/);
});
