/**
 * The container supervisor with real processes: output to the log file, env, restarts with growing
 * back-off and CrashLoopBackOff status, a missing command reported as such, readiness probes of all
 * three kinds, and (with root) the container and its probes running inside a pod namespace as a UID.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ContainerSupervisor, type ContainerStatus, type SupervisorOptions } from '../../src/runtime/supervisor.js';
import { netnsSkipReason, removeDir, scratchDir, sh, tag, Teardown } from './netns-fixture.js';

const FAST = { initialMs: 150, maxMs: 600, resetAfterMs: 60_000 };

async function until(what: string, cond: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('container supervisor', () => {
  const dir = scratchDir();
  const running: ContainerSupervisor[] = [];
  const teardown = new Teardown();
  after(async () => {
    await Promise.all(running.map((s) => s.stop()));
    await teardown.run();
    removeDir(dir);
  });

  function supervise(spec: ConstructorParameters<typeof ContainerSupervisor>[0], opts: Partial<SupervisorOptions> = {}): ContainerSupervisor {
    const s = new ContainerSupervisor(spec, { logDir: join(dir, 'logs'), backoff: FAST, gracePeriodMs: 1000, ...opts });
    running.push(s);
    s.start();
    return s;
  }

  test('runs command + args with env, output (stdout and stderr) in the log file; stop ends the process group', async () => {
    const s = supervise({
      name: 'app',
      command: ['sh', '-c'],
      args: ['echo "hello $GREETING"; echo oops >&2; sleep 30 & wait'],
      env: { GREETING: 'mesh' },
    });
    await until('log output', () => /hello mesh[\s\S]*oops/.test(readFileSync(s.logFile, 'utf8')));
    const st = s.getStatus();
    assert.equal(st.state, 'Running');
    assert.equal(st.ready, true, 'no probe: running means ready');
    const pid = st.pid!;
    await s.stop();
    assert.throws(() => process.kill(pid, 0), 'the container is gone');
    assert.equal(s.getStatus().state, 'Stopped');
  });

  test('a crashing container is restarted with doubling back-off and shows CrashLoopBackOff', async () => {
    const starts = join(dir, 'starts');
    const s = supervise({ name: 'crasher', command: ['sh', '-c', `date +%s%3N >> ${starts}; exit 3`] });
    const startCount = () => (existsSync(starts) ? readFileSync(starts, 'utf8').trim().split('\n').length : 0);
    await until('5 starts', () => startCount() >= 5 && s.getStatus().restartCount >= 4, 15_000);
    const st: ContainerStatus = s.getStatus();
    assert.equal(st.lastExitCode, 3);
    assert.match(st.lastTermination ?? '', /exited with code 3/);
    assert.ok(['CrashLoopBackOff', 'Running'].includes(st.state));
    await s.stop();
    const t = readFileSync(starts, 'utf8').trim().split('\n').map(Number);
    const gaps = t.slice(1).map((v, i) => v - t[i]);
    // Back-off 150, 300, 600, then capped at 600 (uncapped would be 1200); process start-up adds a little.
    assert.ok(gaps[0] >= 140, `first gap ${gaps}`);
    assert.ok(gaps[1] >= 290, `second gap ${gaps}`);
    assert.ok(gaps[2] >= 590, `third gap ${gaps}`);
    assert.ok(gaps[3] >= 590 && gaps[3] < 1150, `capped gap ${gaps}`);
  });

  test('a command that does not exist is reported as such, and retried', async () => {
    const s = supervise({ name: 'missing', command: ['no-such-program-sf'] });
    await until('a retry', () => s.getStatus().restartCount >= 1);
    const st = s.getStatus();
    assert.equal(st.state, 'CrashLoopBackOff');
    assert.match(st.message!, /command not found: "no-such-program-sf"/);
    assert.match(st.message!, /image is ignored locally/);
    await s.stop();
  });

  test('restartPolicy Never leaves a finished container Completed', async () => {
    const s = supervise({ name: 'job', command: ['true'] }, { restartPolicy: 'Never' });
    await until('completion', () => s.getStatus().state === 'Completed');
    assert.equal(s.getStatus().restartCount, 0);
  });

  test('tcpSocket and httpGet probes make the container ready only once the app listens', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', function (this: ReturnType<typeof createServer>) {
        const p = (this.address() as AddressInfo).port;
        this.close(() => resolve(p));
      });
    });
    const app = `setTimeout(() => require('http').createServer((q, r) => r.end('ok')).listen(${port}, '127.0.0.1'), 400)`;
    const changes: boolean[] = [];
    const tcp = supervise(
      { name: 'web', command: [process.execPath, '-e', app], readinessProbe: { tcpSocket: { port }, periodSeconds: 0.1 } },
      { onReadyChange: (r) => changes.push(r) },
    );
    assert.equal(tcp.getStatus().ready, false);
    await until('tcp readiness', () => tcp.getStatus().ready);
    const http = supervise({
      name: 'web-probe',
      command: ['sleep', '30'],
      readinessProbe: { httpGet: { port, path: '/healthz' }, periodSeconds: 0.1 },
    });
    await until('http readiness', () => http.getStatus().ready);
    await tcp.stop();
    await until('http unready after 3 failures', () => !http.getStatus().ready);
    assert.deepEqual(changes, [true, false]);
  });

  test('an exec probe follows a file, with failureThreshold consecutive failures before unready', async () => {
    const flag = join(dir, 'ready-flag');
    const s = supervise({
      name: 'exec',
      command: ['sleep', '30'],
      readinessProbe: { exec: { command: ['test', '-f', flag] }, periodSeconds: 0.05, failureThreshold: 4 },
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(s.getStatus().ready, false);
    writeFileSync(flag, '');
    await until('ready', () => s.getStatus().ready);
    rmSync(flag);
    const gone = Date.now();
    await until('unready', () => !s.getStatus().ready);
    assert.ok(Date.now() - gone >= 150, 'not before 4 failed checks');
  });

  describe('inside a pod network namespace', { skip: netnsSkipReason() }, () => {
    test('the container and its probes run in the namespace, as the given UID', async () => {
      const ns = `sf-t-${tag()}-sup`;
      sh('ip', 'netns', 'add', ns);
      teardown.cmd('ip', 'netns', 'del', ns);
      sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      // Port 1 on 127.0.0.1 exists only in the namespace: the probe can succeed only from inside it.
      const app = "require('http').createServer((q, r) => r.end(String(process.getuid()))).listen(1, '127.0.0.1'); console.log('uid', process.getuid())";
      const s = supervise(
        { name: 'in-pod', command: [process.execPath, '-e', app], readinessProbe: { httpGet: { port: 1 }, periodSeconds: 0.1, timeoutSeconds: 2 } },
        { netns: ns, uid: 0 },
      );
      await until('ready in the namespace', () => s.getStatus().ready);
      // The container's PATH lacks /usr/sbin (where `ip` lives): entering the namespace must not depend on it.
      const id = supervise({ name: 'whoami', command: ['id', '-u'], env: { PATH: '/usr/bin:/bin' } }, { netns: ns, uid: 1337, restartPolicy: 'Never' });
      await until('whoami done', () => id.getStatus().state === 'Completed');
      assert.equal(readFileSync(id.logFile, 'utf8').trim(), '1337');
      const links = sh('ip', 'netns', 'exec', ns, 'ss', '-ltn');
      assert.match(links, /127\.0\.0\.1:1\b/);
      await s.stop();
    });
  });
});
