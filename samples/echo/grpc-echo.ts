/** The echo sample's gRPC face: echoes the message and says which pod and version answered. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { EchoIdentity } from './http-echo.js';

// The .proto stays in the source tree (samples/echo); from dist/samples/echo that is ../../../samples/echo.
export const ECHO_PROTO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'samples', 'echo', 'echo.proto');

export function loadEchoService(): grpc.ServiceClientConstructor {
  const def = protoLoader.loadSync(ECHO_PROTO, { keepCase: true, longs: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { sailfin: { samples: { echo: { Echo: grpc.ServiceClientConstructor } } } };
  return pkg.sailfin.samples.echo.Echo;
}

interface EchoRequest {
  message: string;
  fail_with_code: number;
}

export function startGrpcEcho(port: number, id: EchoIdentity, onReady?: (port: number) => void): grpc.Server {
  const Echo = loadEchoService();
  const server = new grpc.Server();
  server.addService(Echo.service, {
    Echo(call: grpc.ServerUnaryCall<EchoRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const req = call.request;
      if (req.fail_with_code) {
        callback({ code: req.fail_with_code, details: `failing as asked by ${id.pod}` });
        return;
      }
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = String(v);
      callback(null, { message: req.message, pod: id.pod, version: id.version, metadata });
    },
  });
  server.bindAsync(`0.0.0.0:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err) {
      console.error(`grpc echo: cannot listen on ${port}: ${err.message}`);
      process.exitCode = 1;
      return;
    }
    console.log(`echo ${id.version} (${id.pod}) grpc listening on ${bound}`);
    onReady?.(bound);
  });
  return server;
}
