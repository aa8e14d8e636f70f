/**
 * The pilot side of tracing: mesh config `defaultConfig.tracing` → the HCM `tracing` block a stock
 * Envoy understands (Zipkin provider on the collector Service's outbound cluster, Istio's sampling
 * and custom tags), on only when asked for or when the collector Service exists.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GenContext } from '../../../src/pilot/context.js';
import { collectorCluster, hcmTracing, tracingSettings } from '../../../src/pilot/listeners/tracing.js';

function ctx(tracing: ReturnType<typeof tracingSettings> | undefined, hostnames: string[]): GenContext {
  return {
    proxy: { id: 'x', type: 'sidecar', namespace: 'default', name: 'reviews-v1-abc-12345', ips: ['10.0.0.1'], labels: { app: 'reviews', version: 'v1' }, serviceAccount: 'reviews' },
    services: { services: () => hostnames.map((hostname) => ({ hostname })) },
    mesh: { domain: 'cluster.local', trustDomain: 'cluster.local', rootNamespace: 'istio-system', enableAutoMtls: true, outboundTrafficPolicy: 'ALLOW_ANY', tracing },
  } as unknown as GenContext;
}

test('mesh config tracing settings: Istio defaults, explicit address and sampling', () => {
  assert.deepEqual(tracingSettings({}), { zipkinAddress: 'zipkin.istio-system:9411', sampling: 1, explicit: false });
  assert.deepEqual(tracingSettings({ tracing: { sampling: 100, zipkin: { address: 'tempo.observability:9411' } } }), { zipkinAddress: 'tempo.observability:9411', sampling: 100, explicit: true });
  assert.equal(tracingSettings({ tracing: { sampling: 300 } }).sampling, 1, 'an out-of-range percentage falls back to the default');
  assert.equal(collectorCluster('zipkin.istio-system:9411', 'cluster.local', 'istio-system').cluster, 'outbound|9411||zipkin.istio-system.svc.cluster.local');
  assert.equal(collectorCluster('zipkin:9411', 'cluster.local', 'istio-system').host, 'zipkin.istio-system.svc.cluster.local');
  assert.equal(collectorCluster('collector.example.com:9411', 'cluster.local', 'istio-system').host, 'collector.example.com');
});

test('the HCM tracing block: off without a collector, on with it or when asked for', () => {
  assert.equal(hcmTracing(ctx(undefined, ['reviews.default.svc.cluster.local'])), undefined);
  const on = hcmTracing(ctx(undefined, ['zipkin.istio-system.svc.cluster.local']))!;
  assert.deepEqual(on.random_sampling, { value: 1 });
  const provider = on.provider as { name: string; typed_config: Record<string, unknown> };
  assert.equal(provider.name, 'envoy.tracers.zipkin');
  assert.equal(provider.typed_config.collector_cluster, 'outbound|9411||zipkin.istio-system.svc.cluster.local');
  assert.equal(provider.typed_config.collector_endpoint, '/api/v2/spans');
  assert.equal(provider.typed_config.shared_span_context, false);
  // Listeners are shared across a scope's sidecars: nothing proxy-specific in the block.
  assert.deepEqual(on.custom_tags, [{ tag: 'istio.mesh_id', literal: { value: 'cluster.local' } }]);
  const asked = hcmTracing(ctx(tracingSettings({ tracing: { sampling: 50 } }), []))!;
  assert.deepEqual(asked.random_sampling, { value: 50 });
});
