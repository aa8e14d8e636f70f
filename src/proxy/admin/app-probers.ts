/**
 * The app's own health checks, run by the sidecar for the kubelet (Istio's probe rewriting). The
 * injector points each app container's probe at the proxy's status port, path
 * /app-health/<container>/livez|readyz|startupz, and hands the original probes over in
 * ISTIO_KUBE_APP_PROBERS; the proxy performs the original probe against the app over loopback.
 * Needed because the kubelet has no mesh certificate (an mTLS-only port refuses it) and because
 * with capture in place every TCP port looks open (the sidecar accepts them all).
 */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { SailfinError } from '../../common/errors.js';

export const APP_PROBERS_ENV = 'ISTIO_KUBE_APP_PROBERS';
export const APP_HEALTH_PREFIX = '/app-health/';

export interface HttpGetProbe {
  path?: string;
  port: number;
  host?: string;
  scheme?: string;
  httpHeaders?: { name: string; value: string }[];
}

export interface AppProber {
  /** Where probes without a host go: the pod IP, as the kubelet probes it (127.0.0.1 outside a pod). */
  target: string;
  httpGet?: HttpGetProbe;
  tcpSocket?: { port: number; host?: string };
  grpc?: { port: number; service?: string };
  timeoutSeconds?: number;
}

export type AppProbers = ReadonlyMap<string, AppProber>;

function portOf(value: unknown, field: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new SailfinError('schema', `port ${JSON.stringify(value)} is not a port number (the injector resolves named ports)`, { field });
  }
  return n;
}

/**
 * ISTIO_KUBE_APP_PROBERS' JSON; a malformed value stops start-up naming the entry, not probes
 * failing later. `podIp` (INSTANCE_IP) is where probes go, so an app reachable by the kubelet
 * without a mesh is reachable by these probes (and one listening only on loopback is not).
 */
export function parseAppProbers(text: string, podIp = LOOPBACK): AppProbers {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SailfinError('schema', `not JSON: ${(err as Error).message}`, { field: APP_PROBERS_ENV });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new SailfinError('schema', 'must be a JSON object of path -> prober', { field: APP_PROBERS_ENV });
  const probers = new Map<string, AppProber>();
  for (const [path, raw] of Object.entries(json as Record<string, unknown>)) {
    const field = `${APP_PROBERS_ENV}["${path}"]`;
    if (!path.startsWith(APP_HEALTH_PREFIX)) throw new SailfinError('schema', `path must start with ${APP_HEALTH_PREFIX}`, { field });
    if (raw === null || typeof raw !== 'object') throw new SailfinError('schema', 'must be an object with httpGet, tcpSocket or grpc', { field });
    const p = raw as Record<string, Record<string, unknown> | number | undefined>;
    const timeout = p.timeoutSeconds === undefined ? undefined : Number(p.timeoutSeconds);
    const prober: AppProber = { target: podIp, timeoutSeconds: timeout !== undefined && timeout > 0 ? timeout : undefined };
    if (p.httpGet && typeof p.httpGet === 'object') {
      const g = p.httpGet;
      prober.httpGet = { ...(g as object), port: portOf(g.port, `${field}.httpGet.port`) } as HttpGetProbe;
    } else if (p.tcpSocket && typeof p.tcpSocket === 'object') {
      prober.tcpSocket = { port: portOf(p.tcpSocket.port, `${field}.tcpSocket.port`), host: p.tcpSocket.host as string | undefined };
    } else if (p.grpc && typeof p.grpc === 'object') {
      prober.grpc = { port: portOf(p.grpc.port, `${field}.grpc.port`), service: p.grpc.service as string | undefined };
    } else {
      throw new SailfinError('schema', 'must have httpGet, tcpSocket or grpc', { field });
    }
    probers.set(path, prober);
  }
  return probers;
}

const LOOPBACK = '127.0.0.1';
/**
 * The capture rules send the proxy's own traffic to its pod IP back to the inbound listener (that is
 * how an app calling itself through a Service stays in the mesh); a connection from 127.0.0.6, the
 * inbound passthrough source, is exempt, so probes to the pod IP reach the app directly.
 */
const PASSTHROUGH_SOURCE = '127.0.0.6';

/** The source address for a connection from the proxy to its app at `host` (undefined: any). */
export function localAddressFor(host: string): string | undefined {
  return host === LOOPBACK || host === 'localhost' || host === '::1' || net.isIPv6(host) ? undefined : PASSTHROUGH_SOURCE;
}

function probeHttp(g: HttpGetProbe, target: string, timeoutMs: number): Promise<boolean> {
  const secure = (g.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/sailfin' };
  for (const h of g.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  return new Promise((resolve) => {
    // As the kubelet does, an HTTPS probe does not verify the app's certificate.
    const host = g.host || target;
    const opts = { host, localAddress: localAddressFor(host), port: g.port, path: g.path || '/', headers, timeout: timeoutMs, rejectUnauthorized: false };
    const req = (secure ? https : http).get(opts, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      // The kubelet's rule: any 2xx or 3xx is healthy.
      resolve(code >= 200 && code < 400);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}

function probeTcp(port: number, host: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host, localAddress: localAddressFor(host) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** grpc.health.v1.Health/Check over plaintext HTTP/2: healthy when the answer's status is SERVING (1). */
function probeGrpc(port: number, host: string, service: string, timeoutMs: number): Promise<boolean> {
  const svc = Buffer.from(service);
  // HealthCheckRequest { string service = 1 } in one length-prefixed, uncompressed gRPC frame.
  const length = svc.length < 0x80 ? [svc.length] : [(svc.length & 0x7f) | 0x80, svc.length >> 7]; // varint; names are short
  const message = svc.length ? Buffer.concat([Buffer.from([0x0a, ...length]), svc]) : Buffer.alloc(0);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  const frame = Buffer.concat([prefix, message]);
  return new Promise((resolve) => {
    let settled = false;
    const local = localAddressFor(host);
    const session = http2.connect(`http://${net.isIPv6(host) ? `[${host}]` : host}:${port}`, local ? { createConnection: () => net.connect({ host, port, localAddress: local }) } : {});
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    session.on('error', () => finish(false));
    const stream = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('trailers', (t) => {
      const body = Buffer.concat(chunks);
      // HealthCheckResponse { ServingStatus status = 1 }: field 1 varint, SERVING = 1.
      finish(String(t['grpc-status']) === '0' && body.length >= 7 && body[5] === 0x08 && body[6] === 1);
    });
    stream.on('error', () => finish(false));
    stream.on('close', () => finish(false));
    stream.end(frame);
  });
}

/** Runs one original probe; resolves true when the app is healthy. Never rejects. */
export function runAppProbe(prober: AppProber): Promise<boolean> {
  const timeoutMs = (prober.timeoutSeconds ?? 1) * 1000;
  if (prober.httpGet) return probeHttp(prober.httpGet, prober.target, timeoutMs);
  if (prober.tcpSocket) return probeTcp(prober.tcpSocket.port, prober.tcpSocket.host || prober.target, timeoutMs);
  if (prober.grpc) return probeGrpc(prober.grpc.port, prober.target, prober.grpc.service ?? '', timeoutMs);
  return Promise.resolve(false);
}

/** Answers an /app-health/ request: 200 healthy, 503 not, 404 for a path no probe was registered under. */
export function serveAppHealth(probers: AppProbers | undefined, path: string, res: http.ServerResponse): void {
  const prober = probers?.get(path);
  if (!prober) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('no app prober registered for this path\n');
    return;
  }
  void runAppProbe(prober).then((ok) => {
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
    res.end();
  });
}
