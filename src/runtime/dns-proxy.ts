/**
 * The sidecar's DNS proxy (Istio's, on 15053): answers the pod's queries over UDP and TCP from a
 * DnsTable, so service names resolve with no cluster DNS. Known names get their A records (TTL 30)
 * and NODATA for AAAA when they have no IPv6 address, so resolvers do not wait on a second server;
 * unknown names get NXDOMAIN, or go to an optional upstream server. In a pod, the capture rules send
 * the app's port-53 traffic here; the proxy runs as the proxy UID, so its upstream queries are not
 * captured again.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { SailfinError } from '../common/errors.js';
import type { DnsTable } from './dns-table.js';
import { buildResponse, DnsFormatError, formatErrorResponse, messageId, parseQuery, QTYPE, RCODE, type DnsAnswer, type DnsQuery } from './dns-wire.js';

export const DNS_PROXY_PORT = 15053;
const CLASS_IN = 1;
const CLASS_ANY = 255;

export interface DnsUpstream {
  address: string;
  port?: number;
  timeoutMs?: number;
}

export interface DnsProxyOptions {
  table: DnsTable;
  /** Default 127.0.0.1 (where REDIRECT delivers a pod's own queries). */
  address?: string;
  /** Default 15053; 0 picks a free port (the same one for UDP and TCP). */
  port?: number;
  /** Where unknown names are sent; without one they are NXDOMAIN (a local mesh has no outside DNS). */
  upstream?: DnsUpstream;
  ttl?: number;
}

export interface DnsProxyStats {
  queries: number;
  answered: number;
  nxdomain: number;
  forwarded: number;
  malformed: number;
}

export class DnsProxy {
  private table: DnsTable;
  private readonly ttl: number;
  private udp?: UdpSocket;
  private tcp?: Server;
  private readonly conns = new Set<Socket>();
  readonly stats: DnsProxyStats = { queries: 0, answered: 0, nxdomain: 0, forwarded: 0, malformed: 0 };

  constructor(private readonly opts: DnsProxyOptions) {
    this.table = opts.table;
    this.ttl = opts.ttl ?? 30;
  }

  /** Swaps in a new table (services changed); queries in flight finish with the old one. */
  setTable(table: DnsTable): void {
    this.table = table;
  }

  /** Binds UDP and TCP on the same port; resolves with it. */
  async start(): Promise<number> {
    const address = this.opts.address ?? '127.0.0.1';
    const wanted = this.opts.port ?? DNS_PROXY_PORT;
    // With port 0 the UDP port is chosen first and TCP must get the same one; retry if it is taken.
    for (let attempt = 0; ; attempt++) {
      const udp = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
      udp.on('message', (msg, rinfo) => void this.onUdp(udp, msg, rinfo.address, rinfo.port));
      udp.on('error', () => undefined);
      await bindUdp(udp, address, wanted);
      const port = udp.address().port;
      try {
        this.tcp = await listenTcp(address, port, (s) => this.onTcp(s));
        this.udp = udp;
        return port;
      } catch (err) {
        udp.close();
        if (wanted !== 0 || attempt >= 5) throw bindError(address, port, err);
      }
    }
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    this.udp?.close();
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
  }

  /** The response to one query message (exported behaviour for both transports). */
  async answer(msg: Buffer, limit: number | undefined): Promise<Buffer | undefined> {
    this.stats.queries++;
    let query: DnsQuery;
    try {
      query = parseQuery(msg);
    } catch (err) {
      this.stats.malformed++;
      const id = messageId(msg);
      // A reply to something that is not a query could start a loop between two servers.
      return err instanceof DnsFormatError && id !== undefined && msg.length >= 12 && !(msg[2] & 0x80) ? formatErrorResponse(id) : undefined;
    }
    const size = limit === undefined ? undefined : Math.max(limit, query.udpSize);
    if (query.opcode !== 0) return buildResponse(query, { rcode: RCODE.NOTIMP, limit: size });
    if (query.qclass !== CLASS_IN && query.qclass !== CLASS_ANY) return buildResponse(query, { rcode: RCODE.REFUSED, limit: size });

    const known = this.table.lookup(query.name);
    if (known) {
      this.stats.answered++;
      const answers: DnsAnswer[] = [];
      const v4 = query.qtype === QTYPE.A || query.qtype === QTYPE.ANY;
      const v6 = query.qtype === QTYPE.AAAA || query.qtype === QTYPE.ANY;
      if (v4) for (const address of known.ipv4) answers.push({ address, ttl: this.ttl });
      if (v6) for (const address of known.ipv6) answers.push({ address, ttl: this.ttl });
      // No records of the asked type is NOERROR with no answers (NODATA): the name exists.
      return buildResponse(query, { rcode: RCODE.NOERROR, answers, authoritative: true, limit: size });
    }
    if (this.opts.upstream) {
      this.stats.forwarded++;
      const reply = await forward(msg, this.opts.upstream);
      return reply ?? buildResponse(query, { rcode: RCODE.SERVFAIL, recursionAvailable: true, limit: size });
    }
    this.stats.nxdomain++;
    return buildResponse(query, { rcode: RCODE.NXDOMAIN, authoritative: true, limit: size });
  }

  private async onUdp(udp: UdpSocket, msg: Buffer, address: string, port: number): Promise<void> {
    const reply = await this.answer(msg, 512);
    if (reply) udp.send(reply, port, address, () => undefined);
  }

  private onTcp(socket: Socket): void {
    this.conns.add(socket);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('close', () => this.conns.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', async (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      // DNS over TCP: each message is preceded by its length (2 bytes).
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + msg.length);
        const reply = await this.answer(Buffer.from(msg), undefined);
        if (!reply) {
          socket.destroy();
          return;
        }
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length);
        socket.write(Buffer.concat([len, reply]));
      }
    });
  }
}

function bindUdp(udp: UdpSocket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(bindError(address, port, err));
    udp.once('error', onError);
    udp.bind(port, address, () => {
      udp.off('error', onError);
      resolve();
    });
  });
}

function listenTcp(address: string, port: number, onConn: (s: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(onConn);
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function bindError(address: string, port: number, err: unknown): SailfinError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'EADDRINUSE' ? 'the port is already in use' : (err as Error).message;
  return new SailfinError('runtime', `DNS proxy cannot listen on ${address}:${port}: ${why}`, { cause: err });
}

/** Sends the query as-is to the upstream over UDP; undefined on timeout or error. */
function forward(msg: Buffer, upstream: DnsUpstream): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket(isIPv6(upstream.address) ? 'udp6' : 'udp4');
    const id = msg.readUInt16BE(0);
    const done = (reply: Buffer | undefined) => {
      clearTimeout(timer);
      sock.close();
      resolve(reply);
    };
    const timer = setTimeout(() => done(undefined), upstream.timeoutMs ?? 2000);
    sock.on('error', () => done(undefined));
    sock.on('message', (reply) => {
      if (reply.length >= 2 && reply.readUInt16BE(0) === id) done(reply);
    });
    sock.send(msg, upstream.port ?? 53, upstream.address);
  });
}
