/**
 * The native addon itself, on loopback sockets: it is built by `npm ci`, MSG_PEEK reads bytes without
 * consuming them, and bad arguments or descriptors are errors, not crashes. (SO_ORIGINAL_DST after a
 * real REDIRECT is tested in capture.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { isCaptureSupported, originalDst, peek } from '../../src/runtime/original-dst.js';

const skip = process.platform !== 'linux' ? 'the addon is Linux-only' : process.env.SAILFIN_SKIP_NATIVE ? 'SAILFIN_SKIP_NATIVE is set' : undefined;

async function pair(): Promise<{ server: Socket; client: Socket; close: () => void }> {
  const listener = createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const client = connect((listener.address() as AddressInfo).port, '127.0.0.1');
  const server = await accepted;
  return {
    server,
    client,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

test('npm ci built the addon and it loads', { skip }, () => {
  assert.deepEqual(isCaptureSupported(), { supported: true });
});

test('peek returns buffered bytes and leaves them for the next read', { skip }, async () => {
  const { server, client, close } = await pair();
  try {
    assert.equal(peek(server, 16).length, 0, 'nothing has arrived yet');
    client.write('hello mesh');
    let seen: Buffer = Buffer.alloc(0);
    for (let i = 0; i < 100 && seen.length < 10; i++) {
      await new Promise((r) => setTimeout(r, 10));
      seen = peek(server, 16);
    }
    assert.equal(seen.toString(), 'hello mesh');
    assert.equal(peek(server, 5).toString(), 'hello', 'peek honours n');
    const read = new Promise<string>((resolve) => server.once('data', (d) => resolve(d.toString())));
    server.resume();
    assert.equal(await read, 'hello mesh', 'the bytes were not consumed');
  } finally {
    close();
  }
});

test('an unredirected connection reports no destination other than its own address', { skip }, async () => {
  const { server, close } = await pair();
  try {
    const dst = originalDst(server);
    if (dst) assert.deepEqual(dst, { address: '127.0.0.1', port: server.localPort, family: 4 });
  } finally {
    close();
  }
});

test('bad descriptors and arguments throw errors instead of crashing', { skip }, async () => {
  assert.throws(() => originalDst(987654), /getsockname: Bad file descriptor/);
  const { server, close } = await pair();
  try {
    assert.throws(() => peek(server, 70_000), RangeError);
  } finally {
    close();
  }
});
