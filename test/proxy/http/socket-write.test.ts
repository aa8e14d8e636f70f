/**
 * Guards the Node internals socket-write.ts relies on (the stream_wrap binding's WriteWrap and write
 * state, a handle's writeBuffer/writeLatin1String): when a Node upgrade changes them this fails here,
 * instead of the proxy silently falling back to the slower path or, worse, losing bytes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { directWrites, writeMessage } from '../../../src/proxy/http/socket-write.js';
import { LoopbackPairs } from '../loopback-pairs.js';

describe('direct socket writes (Node internals guard)', () => {
  const pairs = new LoopbackPairs();
  before(() => pairs.listen());
  after(() => pairs.close());

  async function pair(): Promise<{ writer: net.Socket; reader: net.Socket }> {
    const { client, socket } = await pairs.pair();
    return { writer: client, reader: socket };
  }

  function readAll(s: net.Socket): Promise<Buffer> {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    return new Promise((resolve) => s.once('end', () => resolve(Buffer.concat(chunks))));
  }

  it('is available on this Node version', () => {
    assert.equal(directWrites, true, 'Node internals changed: HTTP/1 messages go through the Writable stream again');
  });

  it('keeps bytes in order with ordinary writes, strings as latin1, and end()', async () => {
    const { writer, reader } = await pair();
    const all = readAll(reader);
    assert.equal(writeMessage(writer, 'head\xe9:'), true);
    assert.equal(writeMessage(writer, Buffer.from('body;')), true);
    writer.write('plain;');
    writeMessage(writer, 'after');
    writer.end();
    assert.equal((await all).toString('latin1'), 'head\xe9:body;plain;after');
  });

  it('a write the kernel cannot take at once returns false, drains, and loses nothing', async () => {
    const { writer, reader } = await pair();
    reader.pause();
    const big = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
    const ok = writeMessage(writer, big);
    assert.equal(ok, false, 'a 16 MB write to a paused reader cannot complete at once');
    const drained = new Promise<void>((r) => writer.once('drain', () => r()));
    // Queued behind the pending write, never before it.
    writeMessage(writer, 'tail');
    writer.write('!');
    writer.end();
    const all = readAll(reader);
    reader.resume();
    await drained;
    const got = await all;
    assert.equal(got.length, big.length + 5);
    assert.ok(got.subarray(0, big.length).equals(big), 'the large write arrived intact');
    assert.equal(got.subarray(big.length).toString(), 'tail!');
  });

  it('a write to a connection the peer reset fails the socket without throwing', async () => {
    const { writer, reader } = await pair();
    // Not reading: the reset is found by the writes, not by a read.
    writer.pause();
    const closed = new Promise<void>((r) => writer.once('close', () => r()));
    reader.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 50 && !writer.destroyed; i++) {
      writeMessage(writer, Buffer.alloc(64 * 1024));
      await new Promise((r) => setTimeout(r, 5));
    }
    // Bounded: a write path that swallowed the error would otherwise leave this waiting forever.
    let guard: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise<void>((_, reject) => {
        guard = setTimeout(() => reject(new Error('writes to a reset connection never failed the socket')), 3000);
      }),
    ]).finally(() => clearTimeout(guard));
    assert.equal(writer.destroyed, true);
  });
});
