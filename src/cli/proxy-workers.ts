/**
 * `sailfin proxy --concurrency N`: N worker processes, each a whole proxy with its own event loop,
 * like Envoy's worker threads. One Node event loop saturates one core (the bench's profile shows
 * the time spread over the codec, Node's stream layer and socket syscalls, with no single part to
 * move off the loop), so more cores means more processes.
 *
 * Workers share every listening socket through node:cluster with SCHED_NONE: the kernel hands each
 * accepted connection to one worker, so a connection never crosses processes (round-robin through
 * the primary would pass every accepted handle over IPC). Each worker binds in the same order, so a
 * port-0 listener gets the same port in all of them.
 */
import cluster from 'node:cluster';

const READY = 'sailfin-proxy-ready';

/** Called by a worker once its listeners are bound. */
export function reportWorkerReady(): void {
  if (cluster.isWorker) process.send?.(READY);
}

/** True in a worker process started by startWorkers. */
export function isProxyWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Runs in the primary: forks `count` copies of this same command and supervises them. The primary
 * serves no traffic. A worker that quits (admin /quitquitquit, or a crash) ends the whole proxy, as
 * Envoy's process would, so a supervisor sees one exit code.
 */
export function startWorkers(count: number): void {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let stopping = false;
  let exitCode = 0;
  const stopAll = (code: number): void => {
    if (!stopping) exitCode = code;
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) if (w && !w.isDead()) w.process.kill('SIGTERM');
  };
  cluster.on('exit', (_worker, code, signal) => {
    if (!stopping) stopAll(code ?? (signal ? 1 : 0));
    if (Object.values(cluster.workers ?? {}).every((w) => !w || w.isDead())) process.exit(exitCode);
  });
  // Say ready once every worker serves, so a script waiting for it measures all of them.
  let ready = 0;
  cluster.on('message', (_worker, msg) => {
    if (msg === READY && ++ready === count) process.stderr.write(`sailfin proxy: ${count} workers ready\n`);
  });
  process.on('SIGTERM', () => stopAll(0));
  process.on('SIGINT', () => stopAll(0));
  for (let i = 0; i < count; i++) cluster.fork({ SAILFIN_PROXY_WORKER: String(i) });
  process.stderr.write(`sailfin proxy: ${count} workers started\n`);
}
