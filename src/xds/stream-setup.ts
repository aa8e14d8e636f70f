/**
 * Stream wiring shared by the state-of-the-world and delta ADS variants: register the proxy on the
 * first request (refusing the stream without node.id), queue each request on the connection, and
 * release the connection once the stream ends, fails, is cancelled or closes.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../common/errors.js';
import type { ProxyConnection } from './proxy-connection.js';
import type { StreamHost } from './stream-host.js';

export function serveAdsStream<Req extends { node?: object | null }, Res>(
  host: StreamHost,
  call: grpc.ServerDuplexStream<Req, Res>,
  /** Called once, when the first request registered the connection. */
  setup: (conn: ProxyConnection) => void,
  onRequest: (conn: ProxyConnection, req: Req) => Promise<void>,
): void {
  let conn: ProxyConnection | undefined;
  const cleanup = (why: string): void => {
    if (conn) host.release(conn, why);
  };
  call.on('data', (req: Req) => {
    if (!conn) {
      conn = host.accept(req.node, (details) => call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details }));
      if (!conn) return;
      setup(conn);
    }
    const c = conn;
    void c.enqueue(() => onRequest(c, req));
  });
  call.on('end', () => {
    cleanup('stream ended');
    call.end();
  });
  call.on('error', (err) => cleanup(errorMessage(err)));
  call.on('cancelled', () => cleanup('cancelled'));
  call.on('close', () => cleanup('closed'));
}
