import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadEchoService } from '../../samples/echo/grpc-echo.js';
import { get, SAMPLE_BIN, startSample, type RunningSample } from './run-sample.js';

const running: RunningSample[] = [];

function tcpExchange(port: number, lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (out += c));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    socket.end(lines.map((l) => `${l}\n`).join(''));
  });
}

describe('echo sample', () => {
  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
  });

  it('answers httpbin-style endpoints and says which pod and version answered', async () => {
    const echo = await startSample('echo', [], { POD_NAME: 'echo-v2-abc', SERVICE_VERSION: 'v2' });
    running.push(echo);
    const base = `http://127.0.0.1:${echo.ports[0]}`;
    const headers = await get(`${base}/headers`, { 'x-test': 'yes' });
    const body = JSON.parse(headers.body);
    assert.equal(body.headers['X-Test'], 'yes');
    assert.equal(body.pod, 'echo-v2-abc');
    assert.equal(headers.headers.get('x-echo-version'), 'v2');
    assert.equal((await get(`${base}/status/503`)).status, 503);
    assert.equal((await get(`${base}/status/418`)).status, 418);
    assert.equal(JSON.parse((await get(`${base}/ip`)).body).origin, '127.0.0.1');
    const delayed = await get(`${base}/delay/1`);
    assert.ok(delayed.ms >= 950, `delay took ${delayed.ms} ms`);
    assert.equal((await get(`${base}/nope`)).status, 404);
    assert.match(echo.output(), /"GET \/headers HTTP\/1.1" 200/);
  });

  it('tcp-echo prefixes every line, as Istio\'s tcp-echo does', async () => {
    const tcp = await startSample('tcp-echo', ['0', 'one'], {});
    running.push(tcp);
    assert.equal(await tcpExchange(tcp.ports[0], ['hello', 'world']), 'one hello\none world\n');
  });

  it('serves a gRPC echo', async () => {
    const g = await startSample('echo', ['--grpc-port', '0'], { POD_NAME: 'grpc-pod', PORT: '' });
    running.push(g);
    const Echo = loadEchoService();
    const client = new Echo(`127.0.0.1:${g.ports[0]}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Echo(req: object, cb: (err: grpc.ServiceError | null, res: { message: string; pod: string }) => void): void;
    };
    try {
      const res = await new Promise<{ message: string; pod: string }>((resolve, reject) =>
        client.Echo({ message: 'ping' }, (err, r) => (err ? reject(err) : resolve(r))),
      );
      assert.deepEqual([res.message, res.pod], ['ping', 'grpc-pod']);
      const err = await new Promise<grpc.ServiceError>((resolve) => client.Echo({ message: 'x', fail_with_code: 14 }, (e) => resolve(e!)));
      assert.equal(err.code, 14);
    } finally {
      client.close();
    }
  });

  it('sailfin-sample rejects an unknown app by name', () => {
    const r = spawnSync(process.execPath, [SAMPLE_BIN, 'nope'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown app "nope"/);
  });
});
