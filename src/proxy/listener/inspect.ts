/**
 * The listener-filter phase of a new connection: read the first bytes (without letting any network
 * filter see them yet) until the TLS inspector and HTTP inspector can tell SNI, ALPN and transport
 * protocol, or until listener_filters_timeout. The bytes read are handed on as `initialData`.
 */
import type { Socket } from 'node:net';
import { MAX_CLIENT_HELLO, inspectHttp, parseClientHello } from './client-hello.js';

export interface Inspection {
  transportProtocol: 'tls' | 'raw_buffer';
  serverName?: string;
  applicationProtocols: string[];
  initialData?: Buffer;
}

export interface InspectOptions {
  tls: boolean;
  http: boolean;
  timeoutMs: number;
  continueOnTimeout: boolean;
}

/** Calls back once: with the inspection, or with undefined when the connection should be closed. */
export function inspect(socket: Socket, opts: InspectOptions, done: (r: Inspection | undefined) => void): void {
  if (!opts.tls && !opts.http) {
    done({ transportProtocol: 'raw_buffer', applicationProtocols: [] });
    return;
  }
  let buf: Buffer = Buffer.alloc(0);
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const finish = (r: Inspection | undefined): void => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('error', onEnd);
    socket.pause();
    if (r && buf.length > 0) r.initialData = buf;
    done(r);
  };
  const decide = (final: boolean): Inspection | undefined => {
    const r: Inspection = { transportProtocol: 'raw_buffer', applicationProtocols: [] };
    if (opts.tls) {
      const hello = parseClientHello(buf);
      if (hello.kind === 'need_more' && !final) return undefined;
      if (hello.kind === 'tls') {
        r.transportProtocol = 'tls';
        r.serverName = hello.serverName;
        r.applicationProtocols = hello.alpn;
        return r;
      }
    }
    if (opts.http) {
      const h = inspectHttp(buf);
      if (h === 'need_more' && !final) return undefined;
      if (h === 'http/1.1') r.applicationProtocols = ['http/1.1'];
      else if (h === 'h2c') r.applicationProtocols = ['h2c'];
    }
    return r;
  };
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const r = decide(buf.length >= MAX_CLIENT_HELLO);
    if (r) finish(r);
  };
  const onEnd = (): void => {
    // The client closed (or failed) before the inspectors were done: nothing to route.
    finish(undefined);
    socket.destroy();
  };
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('error', onEnd);
  if (opts.timeoutMs > 0) {
    timer = setTimeout(() => {
      if (opts.continueOnTimeout) finish(decide(true));
      else {
        finish(undefined);
        socket.destroy();
      }
    }, opts.timeoutMs);
  }
}
