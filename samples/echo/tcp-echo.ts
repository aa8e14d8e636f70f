/**
 * Istio's tcp-echo: every line received is sent back as `<prefix> <line>`. The prefix is what the
 * TCP traffic-shifting task counts ("one" vs "two"), and one connection stays on one pod.
 */
import net from 'node:net';

export function startTcpEcho(ports: number[], prefix: string): net.Server[] {
  return ports.map((port) => {
    const server = net.createServer((socket) => {
      let pending = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          socket.write(`${prefix} ${pending.slice(0, nl)}\n`);
          pending = pending.slice(nl + 1);
        }
      });
      socket.on('end', () => {
        if (pending) socket.write(`${prefix} ${pending}\n`);
        socket.end();
      });
      socket.on('error', () => socket.destroy());
    });
    server.listen(port, () => console.log(`tcp-echo "${prefix}" listening on ${(server.address() as { port: number }).port}`));
    return server;
  });
}
