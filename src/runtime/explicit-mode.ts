/**
 * What explicit mode needs from the machine, and what it cannot do. Without network namespaces every
 * pod shares the host's network, so pods are told apart by loopback addresses: on Linux the whole of
 * 127.0.0.0/8 reaches `lo` without any configuration or privilege, so each pod gets its own 127.x
 * address and the registry, endpoints and mTLS work as with real pod IPs. Apps listen on a port given
 * in PORT and send their HTTP through their sidecar (HTTP_PROXY).
 */
import net from 'node:net';
import { SailfinError } from '../common/errors.js';

/** Pod addresses in explicit mode (inside 127.0.0.0/8, away from 127.0.0.1 and Sailfin's 127.0.0.6). */
export const DEFAULT_EXPLICIT_POD_CIDR = '127.1.0.0/16';

/** Printed by `up` and written in docs/local-mesh.md: what transparent capture gave that this mode does not. */
export const EXPLICIT_MODE_LIMITS = [
  'explicit mode: no network namespaces and no traffic capture; apps reach the mesh only through HTTP_PROXY and listen on $PORT',
  'not available: transparent capture, TCP and other non-HTTP services (TCP routes, tcp-echo, gRPC without a proxy-aware client)',
  'not available: HTTPS/CONNECT through the sidecar, traffic to pod IPs or headless per-pod names, pass-through to hosts the mesh does not know (502)',
  'not available: DNS for service names (apps never resolve them: the sidecar routes by Host), PeerAuthentication against clients that bypass the proxy',
  'only the first container port is moved to $PORT; as a non-root user, Service target ports below 1024 cannot be listened on',
];

export function isLoopbackCidr(cidr: string): boolean {
  return /^127\.\d+\.\d+\.\d+\/(8|9|[12]\d|3[0-2])$/.test(cidr.trim());
}

/** Refuses a pod CIDR outside 127.0.0.0/8: other addresses would need an interface (and root) to exist. */
export function assertExplicitPodCidr(cidr: string): void {
  if (!isLoopbackCidr(cidr)) {
    throw new SailfinError('runtime', `explicit mode gives pods loopback addresses: --pod-cidr must be inside 127.0.0.0/8 (got ${cidr}), e.g. ${DEFAULT_EXPLICIT_POD_CIDR}`, { field: '--pod-cidr' });
  }
}

function listenOnce(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      const p = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(p));
    });
  });
}

/** Fails with a clear message where 127.x addresses besides 127.0.0.1 cannot be bound (not Linux). */
export async function checkLoopbackAddress(ip: string): Promise<void> {
  try {
    await listenOnce(ip, 0);
  } catch (err) {
    throw new SailfinError('runtime', `cannot listen on the pod address ${ip} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): explicit mode needs the whole of 127.0.0.0/8 on the loopback interface, as Linux has it`);
  }
}

/**
 * A port free on every address, for an app's PORT. Apps usually listen on all addresses, so the
 * port must be unused host-wide; it is taken below the kernel's ephemeral range (32768+) so an
 * outgoing connection cannot grab it between this check and the app's listen().
 */
export async function pickAppPort(taken: ReadonlySet<number>, range: [number, number] = [20000, 32000]): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = range[0] + Math.floor(Math.random() * (range[1] - range[0]));
    if (taken.has(port)) continue;
    try {
      await listenOnce('0.0.0.0', port);
      return port;
    } catch {
      // in use: try another
    }
  }
  throw new SailfinError('runtime', `no free port for an app between ${range[0]} and ${range[1]}`);
}
