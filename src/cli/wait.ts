/**
 * `sailfin wait`: returns once the proxy answers its readiness check, or fails after a timeout, as
 * pilot-agent wait does. Injection runs it as the proxy's postStart hook when
 * holdApplicationUntilProxyStarts is set, which holds the app containers until it exits.
 */
import http from 'node:http';
import type { Command } from 'commander';
import { SailfinError } from '../common/errors.js';
import { positiveNumber } from './positive-number.js';

interface WaitOptions {
  url: string;
  timeoutSeconds: number;
  periodMillis: number;
  requestTimeoutMillis: number;
}

/** One readiness check: the HTTP status, or the connection error's message. */
function check(url: URL, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve(err.message));
  });
}

export async function waitForReady(opts: WaitOptions): Promise<void> {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new SailfinError('schema', `"${opts.url}" is not a URL`, { field: '--url' });
  }
  if (url.protocol !== 'http:') throw new SailfinError('schema', `"${opts.url}" is not an http:// URL`, { field: '--url' });
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  let last: number | string = 'not checked';
  for (;;) {
    last = await check(url, opts.requestTimeoutMillis);
    if (last === 200) return;
    if (Date.now() + opts.periodMillis > deadline) break;
    await new Promise((r) => setTimeout(r, opts.periodMillis));
  }
  const why = typeof last === 'number' ? `last answer HTTP ${last}` : `last attempt: ${last}`;
  throw new SailfinError('runtime', `the proxy was not ready at ${opts.url} within ${opts.timeoutSeconds} s (${why})`);
}

export function register(program: Command): void {
  program
    .command('wait')
    .description("wait until the proxy is ready (Istio's pilot-agent wait; the postStart hook of holdApplicationUntilProxyStarts)")
    .option('--url <url>', 'the readiness URL to poll', 'http://localhost:15021/healthz/ready')
    .option('--timeout-seconds <s>', 'give up (exit 1) after this long', positiveNumber, 60)
    .option('--period-millis <ms>', 'time between checks', positiveNumber, 500)
    .option('--request-timeout-millis <ms>', 'time one check may take', positiveNumber, 500)
    .action(async (opts: WaitOptions) => {
      await waitForReady(opts);
      process.stderr.write(`sailfin wait: proxy ready at ${opts.url}\n`);
    });
}
