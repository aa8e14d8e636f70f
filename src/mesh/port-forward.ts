/**
 * Exposes a pod port on host loopback, the local stand-in for a LoadBalancer Service: the ingress
 * gateway's ports become reachable as 127.0.0.1:<port> from the host. The host reaches pod addresses
 * directly over the mesh bridge, so this is a plain byte pipe (no NAT, nothing leaves the machine).
 */
import net from 'node:net';

export interface PortForward {
  hostPort: number;
  close(): Promise<void>;
}

export function forwardPort(hostPort: number, targetHost: string, targetPort: number, bindAddress = '127.0.0.1'): Promise<PortForward> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const done = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${bindAddress}:${hostPort} is already in use`) : err);
    });
    server.listen(hostPort, bindAddress, () => {
      resolve({
        hostPort: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
