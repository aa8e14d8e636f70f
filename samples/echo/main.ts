/**
 * The echo sample's entry point. One program serves the httpbin-like HTTP API, Istio's tcp-echo and a
 * gRPC echo, chosen by flags, so every test scenario runs the same binary:
 *   echo [--port 8080] [--grpc-port N] [--tcp 9000,9001 --prefix one]
 * Positional form `echo 9000,9001,9002 one` is tcp-echo's own command line.
 */
import { podName } from '../lib/http-client.js';
import { startGrpcEcho } from './grpc-echo.js';
import { startHttpEcho } from './http-echo.js';
import { startTcpEcho } from './tcp-echo.js';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function ports(list: string): number[] {
  const out = list.split(',').map((p) => Number(p.trim()));
  for (const p of out) {
    if (!Number.isInteger(p) || p < 0 || p > 65535) {
      console.error(`echo: "${list}" is not a comma-separated list of ports`);
      process.exit(2);
    }
  }
  return out;
}

const args = process.argv.slice(2);
const id = { pod: podName(), version: process.env.SERVICE_VERSION ?? process.env.VERSION ?? 'v1' };

if (args.length >= 1 && /^\d+(,\d+)*$/.test(args[0])) {
  startTcpEcho(ports(args[0]), args[1] ?? 'hello');
} else {
  const tcp = flag(args, '--tcp');
  if (tcp) startTcpEcho(ports(tcp), flag(args, '--prefix') ?? 'hello');
  const grpcPort = flag(args, '--grpc-port');
  if (grpcPort) startGrpcEcho(ports(grpcPort)[0], id);
  // PORT first: the local mesh's explicit mode moves each app to a free port and says so in PORT.
  const httpPort = process.env.PORT ?? flag(args, '--port');
  if (httpPort || (!tcp && !grpcPort)) startHttpEcho(ports(httpPort ?? '8080')[0], id);
}
