import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { routeTo, simpleHcm, startBackend, startProxy, staticCluster, type Backend, type TestProxy } from './harness.js';

const IDLE_MS = 1000;

describe('stream_idle_timeout', () => {
  let backend: Backend;
  let proxy: TestProxy;

  before(async () => {
    // Sends the head and a first body chunk at once, a second chunk 150 ms later, then nothing.
    backend = await startBackend('slow-body', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a');
      setTimeout(() => res.write('b'), 150);
    });
    proxy = await startProxy(simpleHcm(routeTo('b', { timeout: '0s' }), { stream_idle_timeout: `${IDLE_MS / 1000}s` }), [staticCluster('b', [backend.port])]);
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  it('fires one timeout after the last activity, not up to two', async () => {
    const s = net.connect(proxy.port, '127.0.0.1');
    let lastData = 0;
    let text = '';
    const closedAt = await new Promise<number>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('the idle stream was never reset')), 4 * IDLE_MS);
      s.on('data', (c: Buffer) => {
        lastData = performance.now();
        text += c.toString('latin1');
      });
      s.on('error', () => undefined);
      s.on('close', () => {
        clearTimeout(guard);
        resolve(performance.now());
      });
      s.write('GET /stream HTTP/1.1\r\nhost: x\r\n\r\n');
    });
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.ok(text.endsWith('b\r\n'), `the second chunk arrived before the reset: ${JSON.stringify(text)}`);
    const idle = closedAt - lastData;
    // Never early; late by at most the check interval (timeout/16) plus scheduling on a busy machine.
    assert.ok(idle >= IDLE_MS - 20, `reset after only ${idle.toFixed(0)} ms of idleness`);
    assert.ok(idle < IDLE_MS + 450, `reset after ${idle.toFixed(0)} ms of idleness (timeout ${IDLE_MS} ms)`);
    assert.equal(proxy.stats.counter('http.test.downstream_rq_idle_timeout').value, 1);
  });
});
