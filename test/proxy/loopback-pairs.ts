/**
 * A loopback server that keeps every socket it accepts, so a test can open a client and get the
 * server's side of that very connection; everything is destroyed by close(). Shared by the tests that
 * guard the Node internals of the proxy's socket fast paths.
 */
import * as net from 'node:net';

export class LoopbackPairs {
  readonly server: net.Server;
  port = 0;
  private readonly accepted: net.Socket[] = [];
  private readonly clients: net.Socket[] = [];

  constructor(opts: net.ServerOpts = {}) {
    this.server = net.createServer(opts, (s) => {
      s.on('error', () => undefined);
      this.accepted.push(s);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** A connected client and the server's socket for it (within 3 s, or the test fails). */
  async pair(): Promise<{ client: net.Socket; socket: net.Socket }> {
    const n = this.accepted.length;
    const client = net.connect(this.port, '127.0.0.1');
    client.on('error', () => undefined);
    this.clients.push(client);
    const deadline = Date.now() + 3000;
    while (this.accepted.length === n) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the accept');
      await new Promise((r) => setTimeout(r, 2));
    }
    return { client, socket: this.accepted[n]! };
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    for (const s of this.accepted) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
