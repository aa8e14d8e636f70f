/**
 * `--concurrency 2`: two worker processes share the listeners (one port, even when the config asks
 * for port 0), both serve traffic, and stopping the proxy stops them all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { echoServer, exchange } from '../listener/fake-upstream.js';
import { adminBlock, runProxy, staticCluster, tcpListener, tcpProxyFilter } from './harness.js';

function children(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(' ').map(Number) : [];
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('--concurrency 2 runs two workers on one shared listener and stops them all on SIGTERM', async (t) => {
  const echo = await echoServer('w');
  t.after(() => echo.close());
  const p = await runProxy(
    { admin: adminBlock(), static_resources: { clusters: [staticCluster('echo', [echo.port])], listeners: [tcpListener('tcp', [{ filters: [tcpProxyFilter('echo')] }])] } },
    ['--concurrency', '2'],
    60_000,
  );
  t.after(() => p.stop());
  await until('both workers ready', () => p.stderr().includes('2 workers ready'));
  const workers = children(p.proc.pid!);
  assert.equal(workers.length, 2, `worker processes: ${workers.join(' ')}`);
  // Both workers bound the same port: every listener line names it.
  const bound = [...p.stderr().matchAll(/listener tcp on \S+:(\d+)/g)].map((m) => m[1]);
  assert.equal(bound.length, 2);
  assert.equal(bound[0], bound[1]);
  const port = p.ports.get('tcp')!;
  const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => exchange(port, `ping${i}`, 'w:'.length + `ping${i}`.length, 10_000)));
  assert.equal(replies.length, 8);
  for (let i = 0; i < 8; i++) assert.ok(replies[i].endsWith(`ping${i}`), replies[i]);
  p.proc.kill('SIGTERM');
  await p.exited;
  await until('workers gone', () => workers.every((w) => !alive(w)), 10_000);
});
