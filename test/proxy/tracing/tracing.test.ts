/**
 * Tracing through two real sidecars: W3C and B3 contexts continue across hops with a new span per
 * hop, spans reach a real local Zipkin collector with parent/child links, sampling follows the
 * caller's flag, and a dead collector never fails or slows a request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { httpGet, type RunningProxy } from '../integration/harness.js';
import { clientProxy, serverProxy, startApp, startCollector, tracingBlock, waitFor, type App, type Collector } from './two-hop.js';

const HOST = { host: 'web.default.svc.cluster.local' };
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe('tracing across a client and a server sidecar', () => {
  let app: App;
  let collector: Collector;
  let server: RunningProxy;
  let client: RunningProxy;

  before(async () => {
    app = await startApp();
    collector = await startCollector();
    // Nothing is sampled on its own: only a caller's sampled flag makes a span reported.
    server = await serverProxy(app.port, collector.port, tracingBlock(0));
    client = await clientProxy(server.ports.get('in')!, collector.port, tracingBlock(0));
  });
  after(async () => {
    await client?.stop();
    await server?.stop();
    app?.server.close();
    collector?.server.close();
  });

  const get = (headers: Record<string, string>) => httpGet(client.ports.get('out')!, '/productpage?u=1', { headers: { ...HOST, ...headers } });

  it('traceparent in: the app sees the same trace with a child span of each hop, and the spans chain in the collector', async () => {
    const r = await get({ traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'vendor=x' });
    assert.equal(r.status, 200);
    const seen = app.seen.at(-1)!;
    const tp = String(seen.traceparent).split('-');
    assert.equal(tp[1], TRACE);
    assert.notEqual(tp[2], PARENT, 'a new span id at each hop');
    assert.equal(tp[3], '01');
    assert.equal(seen['x-b3-traceid'], TRACE);
    assert.equal(seen['x-b3-spanid'], tp[2]);
    assert.equal(seen.tracestate, 'vendor=x', 'tracestate passes through');
    assert.match(String(seen['x-request-id']), /^[0-9a-f-]{36}$/, 'x-request-id generated as Envoy does');
    const spans = await waitFor('two spans of the trace', () => {
      const s = collector.spans.filter((x) => x.traceId === TRACE);
      return s.length >= 2 ? s : undefined;
    });
    const clientSpan = spans.find((s) => s.kind === 'CLIENT')!;
    const serverSpan = spans.find((s) => s.kind === 'SERVER')!;
    assert.ok(clientSpan && serverSpan, JSON.stringify(spans));
    assert.equal(clientSpan.parentId, PARENT);
    assert.equal(serverSpan.parentId, clientSpan.id, 'the server hop is a child of the client hop');
    assert.equal(serverSpan.id, tp[2], 'the app sees the server hop as its parent span');
    assert.equal(clientSpan.localEndpoint.serviceName, 'sleep.default');
    assert.equal(serverSpan.localEndpoint.serviceName, 'web.default');
    assert.equal(serverSpan.tags['http.status_code'], '200');
    assert.equal(serverSpan.tags['http.method'], 'GET');
    assert.equal(serverSpan.tags['upstream_cluster'], 'inbound|80||');
    assert.equal(clientSpan.tags['upstream_cluster'], 'outbound|80||web.default.svc.cluster.local');
    assert.equal(clientSpan.tags['response_flags'], '-');
    assert.equal(clientSpan.tags['istio.canonical_service'], 'test', 'a custom tag overrides the node one');
    assert.equal(serverSpan.tags['istio.canonical_revision'], 'v1', 'per-workload tags from node metadata');
    assert.equal(serverSpan.tags['istio.namespace'], 'default');
    assert.equal(clientSpan.tags['http.url'], 'http://web.default.svc.cluster.local/productpage?u=1');
    assert.equal(clientSpan.name, 'web.default.svc.cluster.local/productpage');
    assert.ok(clientSpan.duration >= serverSpan.duration && serverSpan.duration > 0);
  });

  it('B3 multi-header in: B3 out with the caller span as parent', async () => {
    const trace = 'a3ce929d0e0e4736';
    await get({ 'x-b3-traceid': trace, 'x-b3-spanid': PARENT, 'x-b3-sampled': '1' });
    const seen = app.seen.at(-1)!;
    assert.equal(seen['x-b3-traceid'], trace, '64-bit trace ids are kept');
    assert.equal(seen['x-b3-sampled'], '1');
    assert.match(String(seen['x-b3-spanid']), /^[0-9a-f]{16}$/);
    assert.notEqual(seen['x-b3-parentspanid'], PARENT, 'the app sees the server hop, whose parent is the client hop');
    const spans = await waitFor('B3 spans', () => {
      const s = collector.spans.filter((x) => x.traceId === trace);
      return s.length >= 2 ? s : undefined;
    });
    assert.equal(spans.find((s) => s.kind === 'CLIENT')!.parentId, PARENT);
    assert.equal(spans.find((s) => s.kind === 'SERVER')!.id, seen['x-b3-spanid']);
  });

  it('single b3 header in: b3 out in the same form', async () => {
    const trace = '80f198ee56343ba864fe8b2a57d3eff7';
    await get({ b3: `${trace}-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90` });
    const b3 = String(app.seen.at(-1)!.b3).split('-');
    assert.equal(b3[0], trace);
    assert.equal(b3[2], '1');
    assert.equal(b3.length, 4, 'trace-span-sampled-parent');
    await waitFor('b3 spans', () => collector.spans.filter((x) => x.traceId === trace).length >= 2);
  });

  it('no context: a new 128-bit trace, propagated unsampled (sampling 0 %) and not reported', async () => {
    const before = collector.spans.length;
    await get({});
    const seen = app.seen.at(-1)!;
    assert.match(String(seen['x-b3-traceid']), /^[0-9a-f]{32}$/);
    assert.equal(seen['x-b3-sampled'], '0');
    assert.match(String(seen.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    // A sampled request sent after it is reported; the unsampled one never is.
    const marker = '11111111111111111111111111111111';
    await get({ traceparent: `00-${marker}-${PARENT}-01` });
    await waitFor('marker spans', () => collector.spans.filter((x) => x.traceId === marker).length >= 2);
    assert.equal(collector.spans.slice(before).filter((x) => x.traceId === seen['x-b3-traceid']).length, 0);
  });
});

test('a dead collector never fails or delays requests; its failures are counted', async (t) => {
  const app = await startApp();
  t.after(() => app.server.close());
  const dead = await startCollector();
  const deadPort = dead.port;
  await new Promise<void>((r) => dead.server.close(() => r()));
  const server = await serverProxy(app.port, deadPort, tracingBlock(100));
  t.after(() => server.stop());
  for (let i = 0; i < 20; i++) {
    const r = await httpGet(server.ports.get('in')!, `/r${i}`, { timeoutMs: 3000 });
    assert.equal(r.status, 200);
  }
  const text = await waitForStat(server.adminPort, /tracing\.zipkin\.reports_failed: [1-9]/);
  assert.match(text, /tracing\.zipkin\.spans_sent: [1-9]/);
});

async function waitForStat(adminPort: number, re: RegExp): Promise<string> {
  const end = Date.now() + 15_000;
  for (;;) {
    const body = (await httpGet(adminPort, '/stats')).body;
    if (re.test(body)) return body;
    if (Date.now() > end) throw new Error(`timed out waiting for ${re} in ${body.split('\n').filter((l) => l.includes('zipkin')).join('; ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
