/**
 * Guards the Node internals static-reads.ts relies on (a listen handle's `onconnection`, net.Socket
 * built over an accepted handle with `onread`): when a Node upgrade changes them, this fails here
 * instead of the proxy silently losing its fast accept path or its reads.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { hasStaticReads, installStaticReadAccept, releaseStaticReads, takeStaticReads } from '../../../src/proxy/listener/static-reads.js';
import { LoopbackPairs } from '../loopback-pairs.js';

function waitFor(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

describe('static-read accept (Node internals guard)', () => {
  let wanted = true;
  const pairs = new LoopbackPairs({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 5000 });
  const server = pairs.server;
  before(() => pairs.listen());
  after(() => pairs.close());
  const connect = () => pairs.pair();

  it('installs on this Node version', () => {
    assert.equal(installStaticReadAccept(server, () => wanted), true, 'net.Server internals changed: static reads are off');
  });

  it('delivers reads as data events until a reader takes them, then to the reader only', async () => {
    const { client, socket } = await connect();
    assert.equal(hasStaticReads(socket), true);
    const events: string[] = [];
    socket.on('data', (d: Buffer) => events.push(`data:${d.toString()}`));
    client.write('one');
    await waitFor(() => events.length === 1, 'the first data event');
    socket.removeAllListeners('data');
    takeStaticReads(socket, { onStaticRead: (n, buf) => events.push(`reader:${buf.toString('latin1', 0, n)}`) });
    client.write('two');
    await waitFor(() => events.length === 2, 'the reader');
    assert.deepEqual(events, ['data:one', 'reader:two']);
  });

  it('hands over bytes read before the reader came and not yet consumed', async () => {
    const { client, socket } = await connect();
    client.write('early');
    // Nobody listens yet: the read sits in the stream's buffer.
    await waitFor(() => socket.readableLength === 5, 'the buffered read');
    const got: string[] = [];
    const taken = takeStaticReads(socket, { onStaticRead: (n, buf) => got.push(buf.toString('latin1', 0, n)) });
    assert.equal(taken.taken, true);
    assert.equal(taken.buffered?.toString(), 'early');
    socket.resume();
    client.write('late');
    await waitFor(() => got.length === 1, 'the reader');
    assert.deepEqual(got, ['late']);
  });

  it('pause() stops reading and resume() restarts it; release returns to data events', async () => {
    const { client, socket } = await connect();
    const got: string[] = [];
    takeStaticReads(socket, { onStaticRead: (n, buf) => got.push(buf.toString('latin1', 0, n)) });
    socket.pause();
    client.write('held');
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(got, [], 'a paused socket must not read');
    socket.resume();
    await waitFor(() => got.length === 1, 'the read after resume');
    assert.deepEqual(got, ['held']);
    releaseStaticReads(socket);
    const data = new Promise<string>((r) => socket.once('data', (d: Buffer) => r(d.toString())));
    client.write('piped');
    assert.equal(await data, 'piped');
  });

  it('writes, end-of-stream and the server connection count behave as for any socket', async () => {
    const { client, socket } = await connect();
    const before = await new Promise<number>((r, j) => server.getConnections((e, n) => (e ? j(e) : r(n))));
    const reply = new Promise<string>((r) => client.once('data', (d: Buffer) => r(d.toString())));
    socket.write('pong');
    assert.equal(await reply, 'pong');
    const ended = new Promise<void>((r) => socket.once('end', () => r()));
    client.end();
    await ended;
    socket.destroy();
    await waitFor(() => socket.destroyed, 'the close');
    await new Promise((r) => setTimeout(r, 20));
    const afterClose = await new Promise<number>((r, j) => server.getConnections((e, n) => (e ? j(e) : r(n))));
    assert.equal(afterClose, before - 1);
  });

  it("applies the server's noDelay and keepAlive to the sockets it accepts, as net does", async () => {
    const noDelay: unknown[] = [];
    const keepAlive: Array<[unknown, unknown, unknown]> = [];
    const origNoDelay = net.Socket.prototype.setNoDelay;
    const origKeepAlive = net.Socket.prototype.setKeepAlive;
    net.Socket.prototype.setNoDelay = function (this: net.Socket, v?: boolean) {
      noDelay.push(this);
      return origNoDelay.call(this, v);
    };
    net.Socket.prototype.setKeepAlive = function (this: net.Socket, on?: boolean, delay?: number) {
      keepAlive.push([this, on, delay]);
      return origKeepAlive.call(this, on, delay);
    };
    try {
      const { socket } = await connect();
      assert.equal(hasStaticReads(socket), true);
      assert.ok(noDelay.includes(socket), 'the listener asked for noDelay: a static-read socket must get it too');
      assert.deepEqual(
        keepAlive.filter(([s]) => s === socket).map(([, on, delay]) => [on, delay]),
        [[true, 5000]],
        'the server asked for keep-alive after 5 s: a static-read socket must get it too',
      );
    } finally {
      net.Socket.prototype.setNoDelay = origNoDelay;
      net.Socket.prototype.setKeepAlive = origKeepAlive;
    }
  });

  it('accepts ordinary sockets while not wanted', async () => {
    wanted = false;
    try {
      const { socket } = await connect();
      assert.equal(hasStaticReads(socket), false);
      assert.equal(takeStaticReads(socket, { onStaticRead: () => undefined }).taken, false);
    } finally {
      wanted = true;
    }
  });
});
