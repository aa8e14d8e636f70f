/**
 * Istio's telemetry on a real local mesh: bookinfo (productpage, details, reviews v1) behind the
 * ingress gateway, with the Zipkin collector sample and the mesh config asking for 100 % sampling.
 * One request from the host yields one trace whose spans chain gateway → productpage → reviews, and
 * the sidecars' Istio metrics name both ends (metadata exchange over HTTP; over TCP, mTLS identity and
 * endpoint metadata).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Mesh, ROOT, eventually, page, sailfin, skipReason } from './mesh-harness.js';
import { TCP_CLIENT, nodeInPod } from './scenario-fixtures.js';

const skip = skipReason();

/** samples/platform with tracing asked for in the mesh config, and without the egress gateway (one proxy fewer). */
function platform(): string {
  const text = readFileSync(join(ROOT, 'samples', 'platform', 'istio-system.yaml'), 'utf8');
  const withTracing = text.replace(
    '    defaultConfig:\n',
    '    defaultConfig:\n      tracing:\n        sampling: 100\n        zipkin:\n          address: zipkin.istio-system:9411\n',
  );
  assert.notEqual(withTracing, text, 'the platform sample has a defaultConfig to extend');
  return withTracing
    .split(/^---$/m)
    .filter((doc) => !doc.includes('egressgateway'))
    .join('---');
}

/** Bookinfo without ratings and reviews v2/v3: the ingress → productpage → reviews chain is what is traced. */
function bookinfo(): string {
  return readFileSync(join(ROOT, 'samples', 'bookinfo', 'platform', 'bookinfo.yaml'), 'utf8')
    .split(/^---$/m)
    .filter((doc) => !/name: (reviews-v2|reviews-v3|ratings-v1)\n/.test(doc))
    .join('---');
}

const TCP_ECHO = `apiVersion: v1
kind: Service
metadata: {name: tcp-echo, labels: {app: tcp-echo}}
spec:
  selector: {app: tcp-echo}
  ports: [{name: tcp, port: 9000}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tcp-echo-v1}
spec:
  selector: {matchLabels: {app: tcp-echo, version: v1}}
  template:
    metadata: {labels: {app: tcp-echo, version: v1}}
    spec:
      containers:
      - name: tcp-echo
        command: [sailfin-sample, tcp-echo, '9000', hello]
`;

interface Span {
  traceId: string;
  id: string;
  parentId?: string;
  kind: string;
  name: string;
  localEndpoint: { serviceName: string };
  tags: Record<string, string>;
}

function series(text: string, metric: string, reporter: string, must: string[]): string | undefined {
  return text.split('\n').find((l) => l.startsWith(metric + '{') && l.includes(`reporter="${reporter}"`) && must.every((m) => l.includes(m)));
}

describe('telemetry on the local mesh', { skip, timeout: 230_000 }, () => {
  const mesh = new Mesh('sfe2etel', '10.93.0.0/16');
  let port: number;
  const stats = (pod: string, ns?: string) =>
    sailfin(['exec', pod, '--state-dir', mesh.stateDir, ...(ns ? ['-n', ns] : []), '--', 'curl', '-s', '-m', '5', 'http://127.0.0.1:15020/stats/prometheus']).stdout;

  before(() => {
    mesh.write('platform.yaml', platform());
    mesh.write('bookinfo.yaml', bookinfo());
    mesh.write('tcp-echo.yaml', TCP_ECHO);
    mesh.add('samples/bookinfo/networking/bookinfo-gateway.yaml', 'samples/zipkin/zipkin.yaml');
    mesh.up();
    port = mesh.ingressPort(8080);
  });
  after(() => mesh.down());

  it('one request from the host is one trace: gateway → productpage → reviews, each span the child of the previous hop', async () => {
    const marker = `t${Date.now()}`;
    await eventually('the product page with reviews', async () => {
      const r = await page(port, `/productpage?${marker}`);
      return r.status === 200 && r.body.includes('Reviews served by') ? r : undefined;
    }, 60_000);
    const trace = await eventually('the trace in the collector', () => {
      const r = mesh.execCurl('zipkin', 'http://127.0.0.1:9411/api/v2/traces?serviceName=istio-ingressgateway.istio-system&limit=1000', [], 'istio-system');
      if (r.code !== '200') return undefined;
      const traces = JSON.parse(r.body) as Span[][];
      const t = traces.find((spans) => spans.some((s) => s.tags['http.url']?.includes(marker)));
      // Gateway, productpage in/out to details and reviews, details and reviews in: 6 spans.
      return t && t.some((s) => s.localEndpoint.serviceName === 'reviews.default' && s.kind === 'SERVER') ? t : undefined;
    }, 30_000, 500);
    const ids = new Set(trace.map((s) => s.traceId));
    assert.equal(ids.size, 1, 'one trace id');
    const byId = new Map(trace.map((s) => [s.id, s]));
    const gateway = trace.find((s) => s.localEndpoint.serviceName === 'istio-ingressgateway.istio-system' && s.tags['http.url'].includes(marker))!;
    const ppIn = trace.find((s) => s.localEndpoint.serviceName === 'productpage.default' && s.kind === 'SERVER')!;
    const ppToReviews = trace.find((s) => s.localEndpoint.serviceName === 'productpage.default' && s.kind === 'CLIENT' && s.tags.upstream_cluster.includes('reviews'))!;
    const reviewsIn = trace.find((s) => s.localEndpoint.serviceName === 'reviews.default' && s.kind === 'SERVER')!;
    assert.ok(gateway && ppIn && ppToReviews && reviewsIn, JSON.stringify(trace.map((s) => [s.localEndpoint.serviceName, s.kind, s.id, s.parentId])));
    assert.equal(gateway.parentId, undefined, 'the gateway starts the trace');
    assert.equal(ppIn.parentId, gateway.id);
    assert.equal(ppToReviews.parentId, ppIn.id, 'productpage propagated its inbound span to its call');
    assert.equal(reviewsIn.parentId, ppToReviews.id);
    for (const s of trace) if (s.parentId) assert.ok(byId.has(s.parentId), `parent of ${s.name} is in the trace`);
    assert.equal(reviewsIn.tags['http.status_code'], '200');
    assert.equal(reviewsIn.tags['istio.canonical_service'], 'reviews');
    assert.equal(ppToReviews.tags['istio.canonical_service'], 'productpage', 'each sidecar tags its own workload, shared listeners or not');
    assert.equal(gateway.tags['istio.canonical_service'], 'istio-ingressgateway');
    assert.equal(ppToReviews.tags.upstream_cluster, 'outbound|9080||reviews.default.svc.cluster.local');
  });

  it('HTTP metrics carry both ends on both reporters (metadata exchange), with mTLS at the destination', async () => {
    const dest = await eventually('reviews destination series', () =>
      series(stats('reviews-v1'), 'istio_requests_total', 'destination', ['source_workload="productpage-v1"']),
    );
    for (const label of [
      'source_workload_namespace="default"',
      'source_principal="spiffe://cluster.local/ns/default/sa/bookinfo-productpage"',
      'source_app="productpage"',
      'source_version="v1"',
      'source_canonical_service="productpage"',
      'destination_workload="reviews-v1"',
      'destination_app="reviews"',
      'destination_version="v1"',
      'destination_principal="spiffe://cluster.local/ns/default/sa/bookinfo-reviews"',
      'connection_security_policy="mutual_tls"',
      'response_code="200"',
      'response_flags="-"',
    ]) assert.ok(dest.includes(label), `${label} in ${dest}`);
    const source = series(stats('productpage-v1'), 'istio_requests_total', 'source', ['destination_service="reviews.default.svc.cluster.local"']) ?? '';
    for (const label of [
      'source_workload="productpage-v1"',
      'source_app="productpage"',
      'destination_workload="reviews-v1"',
      'destination_workload_namespace="default"',
      'destination_app="reviews"',
      'destination_version="v1"',
      'destination_principal="spiffe://cluster.local/ns/default/sa/bookinfo-reviews"',
      'response_code="200"',
    ]) assert.ok(source.includes(label), `${label} in ${source}`);
    const gw = series(stats('istio-ingressgateway', 'istio-system'), 'istio_requests_total', 'source', ['destination_workload="productpage-v1"']) ?? '';
    assert.match(gw, /source_workload="istio-ingressgateway"/);
    const pp = series(stats('productpage-v1'), 'istio_requests_total', 'destination', ['source_workload="istio-ingressgateway"']) ?? '';
    assert.match(pp, /source_workload_namespace="istio-system"/);
  });

  it('TCP metrics name the peer: from its mTLS identity and its address at the destination, from the endpoint metadata at the source', async () => {
    const r = nodeInPod<string[][]>(mesh, 'productpage-v1', TCP_CLIENT, ['tcp-echo', '9000', '1', '2']);
    assert.ok(JSON.stringify(r).includes('hello'), JSON.stringify(r));
    const dest = await eventually('tcp-echo destination series', () =>
      series(stats('tcp-echo-v1'), 'istio_tcp_connections_closed_total', 'destination', ['source_principal="spiffe://cluster.local/ns/default/sa/bookinfo-productpage"']),
    );
    // No exchange on TCP: the caller's workload comes from its pod IP among the endpoints tcp-echo's sidecar knows.
    for (const label of ['source_workload="productpage-v1"', 'source_app="productpage"', 'source_version="v1"', 'source_canonical_service="productpage"', 'source_workload_namespace="default"', 'destination_workload="tcp-echo-v1"', 'destination_app="tcp-echo"', 'connection_security_policy="mutual_tls"', 'request_protocol="tcp"']) {
      assert.ok(dest.includes(label), `${label} in ${dest}`);
    }
    const sent = series(stats('tcp-echo-v1'), 'istio_tcp_received_bytes_total', 'destination', ['destination_workload="tcp-echo-v1"']) ?? '';
    assert.match(sent, /\} [1-9]\d*$/);
    const source = series(stats('productpage-v1'), 'istio_tcp_connections_opened_total', 'source', ['destination_service="tcp-echo.default.svc.cluster.local"']) ?? '';
    for (const label of ['source_workload="productpage-v1"', 'destination_workload="tcp-echo-v1"', 'destination_app="tcp-echo"', 'destination_version="v1"']) {
      assert.ok(source.includes(label), `${label} in ${source}`);
    }
  });
});
