/**
 * The mesh CA's gRPC port (Istio's 15012) for whichever control plane runs it (the local mesh's, or one
 * in a cluster): a server with the CA's service registered, over TLS with the control plane's serving
 * certificate. Closing stops the CA's rotations too and gives calls in flight two seconds to finish.
 */
import * as grpc from '@grpc/grpc-js';
import type { ControlPlaneCa } from './control-plane-ca.js';

export interface CaListener {
  port: number;
  close(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 2000;

/** Binds `host:port` (0 picks one); `register` adds the CA service (with the authenticator this deployment uses). */
export async function listenCa(ca: ControlPlaneCa, host: string, port: number, register: (server: grpc.Server) => void, onClose?: () => void): Promise<CaListener> {
  const server = new grpc.Server();
  register(server);
  let bound: number;
  try {
    bound = await new Promise<number>((resolve, reject) => server.bindAsync(`${host}:${port}`, ca.serverCredentials, (err, p) => (err ? reject(err) : resolve(p))));
  } catch (err) {
    // Nothing will ever close a CA that could not listen: stop its timers and watches now.
    onClose?.();
    ca.stop();
    server.forceShutdown();
    throw err;
  }
  // A second close (a shutdown path and a test's cleanup both closing) waits for the first instead of
  // stopping the CA twice and leaving a second force-shutdown timer behind.
  let closing: Promise<void> | undefined;
  return {
    port: bound,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        onClose?.();
        ca.stop();
        const force = setTimeout(() => server.forceShutdown(), SHUTDOWN_GRACE_MS).unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      })),
  };
}
