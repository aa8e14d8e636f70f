import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SailfinError } from '../../src/common/errors.js';
import type { JsonObject } from '../../src/proxy/config/fields.js';
import {
  applyConnectionPool,
  applyLoadBalancer,
  applyOutlierDetection,
  effectivePolicy,
  hashPolicyFor,
  HTTP_PROTOCOL_OPTIONS,
  MAX_UINT32,
} from '../../src/pilot/clusters/traffic-policy.js';
import { autoMtlsSocketMatches, destinationRuleSocket } from '../../src/pilot/clusters/upstream-tls.js';

describe('DestinationRule traffic policy → Envoy cluster fields', () => {
  it('maps every simple load balancer to its lb_policy and refuses an unknown one naming the field', () => {
    const policy = (simple: string) => {
      const c: JsonObject = {};
      applyLoadBalancer(c, { simple } as Parameters<typeof applyLoadBalancer>[1], 'spec.trafficPolicy.loadBalancer');
      return c.lb_policy;
    };
    assert.deepEqual(
      ['UNSPECIFIED', 'LEAST_CONN', 'LEAST_REQUEST', 'ROUND_ROBIN', 'RANDOM', 'PASSTHROUGH'].map(policy),
      ['LEAST_REQUEST', 'LEAST_REQUEST', 'LEAST_REQUEST', 'ROUND_ROBIN', 'RANDOM', 'CLUSTER_PROVIDED'],
    );
    for (const bad of ['FASTEST', 'toString']) {
      assert.throws(() => policy(bad), (err: unknown) => err instanceof SailfinError && err.field === 'spec.trafficPolicy.loadBalancer.simple' && err.message === `unknown load balancer "${bad}"`);
    }
  });

  it('has Istio defaults without a DestinationRule: LEAST_REQUEST, unlimited breakers, 10s connect, 1h idle', () => {
    const c: JsonObject = {};
    applyLoadBalancer(c, undefined, 'f');
    applyConnectionPool(c, undefined, 'f', false);
    applyOutlierDetection(c, undefined, 'f');
    assert.equal(c.lb_policy, 'LEAST_REQUEST');
    assert.equal(c.connect_timeout, '10s');
    const t = (c.circuit_breakers as { thresholds: JsonObject[] }).thresholds[0];
    assert.deepEqual([t.max_connections, t.max_pending_requests, t.max_requests, t.max_retries], [MAX_UINT32, MAX_UINT32, MAX_UINT32, MAX_UINT32]);
    const opts = (c.typed_extension_protocol_options as Record<string, JsonObject>)[HTTP_PROTOCOL_OPTIONS];
    assert.deepEqual(opts.common_http_protocol_options, { idle_timeout: '3600s' });
    assert.equal(c.outlier_detection, undefined);
  });

  it('circuit-breaking task: one connection, one pending request, one request per connection, eject on one 5xx', () => {
    const c: JsonObject = {};
    const tp = effectivePolicy(
      {
        connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 } },
        outlierDetection: { consecutive5xxErrors: 1, interval: '1s', baseEjectionTime: '3m', maxEjectionPercent: 100 },
      },
      undefined,
      8000,
    );
    applyConnectionPool(c, tp.connectionPool, 'spec.trafficPolicy.connectionPool', false);
    applyOutlierDetection(c, tp.outlierDetection, 'spec.trafficPolicy.outlierDetection');
    const t = (c.circuit_breakers as { thresholds: JsonObject[] }).thresholds[0];
    assert.equal(t.max_connections, 1);
    assert.equal(t.max_pending_requests, 1);
    const opts = (c.typed_extension_protocol_options as Record<string, JsonObject>)[HTTP_PROTOCOL_OPTIONS];
    assert.equal((opts.common_http_protocol_options as JsonObject).max_requests_per_connection, 1);
    assert.deepEqual(c.outlier_detection, {
      consecutive_5xx: 1,
      enforcing_consecutive_5xx: 100,
      interval: '1s',
      base_ejection_time: '180s',
      max_ejection_percent: 100,
      enforcing_success_rate: 0,
    });
    assert.deepEqual(c.common_lb_config, { healthy_panic_threshold: { value: 0 } });
  });

  it('subset and port-level policies override the service policy field by field', () => {
    const tp = effectivePolicy(
      {
        loadBalancer: { simple: 'RANDOM' },
        connectionPool: { tcp: { maxConnections: 5 } },
        portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { simple: 'ROUND_ROBIN' } }],
      },
      { connectionPool: { tcp: { maxConnections: 9 } } },
      9080,
    );
    assert.deepEqual(tp.loadBalancer, { simple: 'ROUND_ROBIN' });
    assert.deepEqual(tp.connectionPool, { tcp: { maxConnections: 9 } });
    const other = effectivePolicy({ loadBalancer: { simple: 'RANDOM' }, portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { simple: 'ROUND_ROBIN' } }] }, undefined, 80);
    assert.deepEqual(other.loadBalancer, { simple: 'RANDOM' });
  });

  it('consistent hashing: ring hash by default, maglev when asked, hash policies per kind', () => {
    const ring: JsonObject = {};
    applyLoadBalancer(ring, { consistentHash: { httpHeaderName: 'x-user', ringHash: { minimumRingSize: 2048 } } }, 'f');
    assert.deepEqual(ring, { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: 2048 } });
    const mag: JsonObject = {};
    applyLoadBalancer(mag, { consistentHash: { useSourceIp: true, maglev: { tableSize: 65537 } } }, 'f');
    assert.equal(mag.lb_policy, 'MAGLEV');
    assert.deepEqual(hashPolicyFor({ consistentHash: { httpHeaderName: 'x-user' } }, 'f'), [{ header: { header_name: 'x-user' } }]);
    assert.deepEqual(hashPolicyFor({ consistentHash: { httpCookie: { name: 'user', ttl: '0s' } } }, 'f'), [{ cookie: { name: 'user', ttl: '0s' } }]);
    assert.deepEqual(hashPolicyFor({ consistentHash: { useSourceIp: true } }, 'f'), [{ connection_properties: { source_ip: true } }]);
    assert.equal(hashPolicyFor({ simple: 'ROUND_ROBIN' }, 'f'), undefined);
  });

  it('rejects bad values naming the field', () => {
    assert.throws(
      () => applyConnectionPool({}, { tcp: { maxConnections: -1 } }, 'spec.trafficPolicy.connectionPool', false),
      (e: unknown) => e instanceof SailfinError && e.field === 'spec.trafficPolicy.connectionPool.tcp.maxConnections',
    );
    assert.throws(
      () => applyOutlierDetection({}, { maxEjectionPercent: 150 }, 'spec.trafficPolicy.outlierDetection'),
      (e: unknown) => e instanceof SailfinError && e.field === 'spec.trafficPolicy.outlierDetection.maxEjectionPercent',
    );
  });
});

describe('upstream TLS', () => {
  const ctx = { sni: 'reviews.default.svc.cluster.local', istioSni: 'outbound_.9080_.v1_.reviews.default.svc.cluster.local', serverIdentities: ['spiffe://cluster.local/ns/default/sa/bookinfo-reviews'], http: true };

  it('auto mTLS picks mesh mTLS for tlsMode istio endpoints and plaintext for the rest', () => {
    const matches = autoMtlsSocketMatches(ctx.istioSni, ctx.serverIdentities, true);
    assert.deepEqual(matches.map((m) => m.match), [{ tlsMode: 'istio' }, {}]);
    const tls = (matches[0].transport_socket as { typed_config: JsonObject }).typed_config;
    assert.equal(tls.sni, ctx.istioSni);
    const common = tls.common_tls_context as JsonObject;
    assert.deepEqual((common.tls_certificate_sds_secret_configs as JsonObject[])[0].name, 'default');
    const cvc = common.combined_validation_context as { default_validation_context: JsonObject; validation_context_sds_secret_config: JsonObject };
    assert.equal(cvc.validation_context_sds_secret_config.name, 'ROOTCA');
    assert.deepEqual(cvc.default_validation_context.match_typed_subject_alt_names, [{ san_type: 'URI', matcher: { exact: ctx.serverIdentities[0] } }]);
  });

  it('DestinationRule tls: DISABLE, SIMPLE with a CA file, MUTUAL with a credential', () => {
    assert.equal(destinationRuleSocket({ mode: 'DISABLE' }, 'f', ctx), undefined);
    const simple = destinationRuleSocket({ mode: 'SIMPLE', caCertificates: '/etc/ca.pem', sni: 'edition.cnn.com' }, 'f', ctx)!;
    const sc = (simple.typed_config as JsonObject);
    assert.equal(sc.sni, 'edition.cnn.com');
    assert.deepEqual((sc.common_tls_context as JsonObject).validation_context, { trusted_ca: { filename: '/etc/ca.pem' } });
    const mutual = destinationRuleSocket({ mode: 'MUTUAL', credentialName: 'client-credential' }, 'f', ctx)!;
    const mc = (mutual.typed_config as JsonObject).common_tls_context as JsonObject;
    assert.equal((mc.tls_certificate_sds_secret_configs as JsonObject[])[0].name, 'kubernetes://client-credential');
    assert.throws(() => destinationRuleSocket({ mode: 'MUTUAL' }, 'spec.trafficPolicy.tls', ctx), (e: unknown) => e instanceof SailfinError && e.field === 'spec.trafficPolicy.tls');
  });
});
