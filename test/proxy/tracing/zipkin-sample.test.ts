/**
 * The Zipkin collector sample (samples/zipkin) as the proxies and a user use it: spans POSTed as
 * Zipkin v2 JSON come back by service and by trace id; bad input is refused with 400.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, httpGet } from '../integration/harness.js';

test('the zipkin sample stores spans and serves them by service and by trace', async (t) => {
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'sailfin-sample'), 'zipkin', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => proc.kill());
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`collector did not start: ${out}`)), 15_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on :(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  const trace = 'aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb';
  const spans = [
    { traceId: trace, id: '1111111111111111', kind: 'CLIENT', name: 'a', localEndpoint: { serviceName: 'productpage.default' }, tags: {} },
    { traceId: trace, id: '2222222222222222', parentId: '1111111111111111', kind: 'SERVER', name: 'b', localEndpoint: { serviceName: 'reviews.default' }, tags: {} },
  ];
  const post = (body: string) => httpGet(port, '/api/v2/spans', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  assert.equal((await post(JSON.stringify(spans))).status, 202);
  assert.equal((await post('not json')).status, 400);
  assert.equal((await post(JSON.stringify([{ traceId: 'xyz' }]))).status, 400);
  const byService = JSON.parse((await httpGet(port, '/api/v2/traces?serviceName=reviews.default')).body) as unknown[][];
  assert.equal(byService.length, 1);
  assert.equal(byService[0].length, 2);
  assert.equal(JSON.parse((await httpGet(port, '/api/v2/traces?serviceName=nobody')).body).length, 0);
  const one = JSON.parse((await httpGet(port, `/api/v2/trace/${trace}`)).body) as Array<{ id: string }>;
  assert.deepEqual(one.map((s) => s.id).sort(), ['1111111111111111', '2222222222222222']);
  assert.equal((await httpGet(port, '/api/v2/trace/0000000000000001')).status, 404);
  assert.deepEqual(JSON.parse((await httpGet(port, '/api/v2/services')).body), ['productpage.default', 'reviews.default']);
});
