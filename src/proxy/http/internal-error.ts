/**
 * The last line of defence on the request path: an exception from a bug reached by one request costs
 * that connection, never the proxy. Reported on stderr, rate-limited so a hot bug cannot flood logs.
 */
let internalErrors = 0;

export function reportInternalError(err: unknown): void {
  if (internalErrors++ < 20) process.stderr.write(`sailfin proxy: internal error on an HTTP connection: ${(err as Error)?.stack ?? String(err)}\n`);
}
