/** The machine-facing helpers of explicit mode: loopback pod CIDRs, binding pod addresses, free app ports. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { SailfinError } from '../../src/common/errors.js';
import { assertExplicitPodCidr, checkLoopbackAddress, isLoopbackCidr, pickAppPort } from '../../src/runtime/explicit-mode.js';

test('pod CIDRs must be inside 127.0.0.0/8, with a message naming the flag', () => {
  assert.ok(isLoopbackCidr('127.1.0.0/16'));
  assert.ok(isLoopbackCidr('127.200.3.0/24'));
  assert.ok(!isLoopbackCidr('127.0.0.0/7'));
  assert.ok(!isLoopbackCidr('10.88.0.0/16'));
  assert.throws(() => assertExplicitPodCidr('10.88.0.0/16'), (e: unknown) => e instanceof SailfinError && /--pod-cidr must be inside 127\.0\.0\.0\/8 \(got 10\.88\.0\.0\/16\)/.test(e.message));
});

test('a 127.x address other than 127.0.0.1 can be listened on (Linux)', { skip: process.platform !== 'linux' ? 'Linux only' : undefined }, async () => {
  await checkLoopbackAddress('127.77.3.4');
  await assert.rejects(checkLoopbackAddress('192.0.2.1'), /cannot listen on the pod address 192\.0\.2\.1/);
});

test('app ports are free host-wide, outside the ephemeral range, and never handed out twice', async () => {
  const taken = new Set<number>();
  for (let i = 0; i < 5; i++) {
    const p = await pickAppPort(taken);
    assert.ok(p >= 20000 && p < 32000, String(p));
    assert.ok(!taken.has(p));
    taken.add(p);
  }
  // A port someone listens on is never chosen.
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '0.0.0.0', () => r()));
  const port = (busy.address() as net.AddressInfo).port;
  try {
    await assert.rejects(pickAppPort(new Set(), [port, port + 1]), /no free port for an app between/);
  } finally {
    busy.close();
  }
});
