/**
 * The DNS wire format (RFC 1035), only as far as a small authoritative responder needs: parse a
 * query's header and question, build a response with A/AAAA answers. Hand-written because the npm
 * DNS packages are client-side or unmaintained, and a server needs ~150 lines of it; everything
 * here is bounds-checked, since queries come from any process in the pod.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const QTYPE = { A: 1, AAAA: 28, OPT: 41, ANY: 255 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const CLASS_IN = 1;
const HEADER = 12;
/** Classic UDP limit when the client does not advertise a larger one with EDNS. */
export const UDP_LIMIT = 512;

export interface DnsQuery {
  id: number;
  opcode: number;
  recursionDesired: boolean;
  /** Lower-cased, without the trailing dot; '' for the root. */
  name: string;
  /** The name exactly as sent (case kept), for echoing the question back. */
  rawQuestion: Buffer;
  qtype: number;
  qclass: number;
  /** The UDP payload size the client accepts (EDNS OPT), or 512. */
  udpSize: number;
}

export class DnsFormatError extends Error {}

/** Reads a (possibly compressed) name at `offset`; returns it and the offset after it in place. */
function readName(msg: Buffer, offset: number): { labels: string[]; end: number } {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  for (let jumps = 0; ; ) {
    if (pos >= msg.length) throw new DnsFormatError('name runs past the message');
    const len = msg[pos];
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length || ++jumps > 16) throw new DnsFormatError('bad compression pointer');
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | msg[pos + 1];
      continue;
    }
    if (len > 63 || pos + 1 + len > msg.length) throw new DnsFormatError('bad label length');
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { labels, end };
}

/** Parses a query; throws DnsFormatError when it is not one (the caller answers FORMERR if it can). */
export function parseQuery(msg: Buffer): DnsQuery {
  if (msg.length < HEADER) throw new DnsFormatError('shorter than a DNS header');
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) throw new DnsFormatError('a response, not a query');
  const qdcount = msg.readUInt16BE(4);
  if (qdcount !== 1) throw new DnsFormatError(`${qdcount} questions (exactly one is supported)`);
  const { labels, end } = readName(msg, HEADER);
  if (end + 4 > msg.length) throw new DnsFormatError('question is cut short');
  const query: DnsQuery = {
    id: msg.readUInt16BE(0),
    opcode: (flags >> 11) & 0xf,
    recursionDesired: (flags & 0x0100) !== 0,
    name: labels.join('.').toLowerCase(),
    rawQuestion: msg.subarray(HEADER, end + 4),
    qtype: msg.readUInt16BE(end),
    qclass: msg.readUInt16BE(end + 2),
    udpSize: UDP_LIMIT,
  };
  // An OPT record in the additional section carries the client's UDP size.
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  const arcount = msg.readUInt16BE(10);
  if (ancount === 0 && nscount === 0 && arcount > 0) {
    let pos = end + 4;
    for (let i = 0; i < arcount && pos < msg.length; i++) {
      const rr = readName(msg, pos);
      if (rr.end + 10 > msg.length) break;
      const type = msg.readUInt16BE(rr.end);
      if (type === QTYPE.OPT) query.udpSize = Math.max(UDP_LIMIT, Math.min(msg.readUInt16BE(rr.end + 2), 4096));
      pos = rr.end + 10 + msg.readUInt16BE(rr.end + 8);
    }
  }
  return query;
}

/** The id of anything that looks like a DNS message (for a FORMERR reply), or undefined. */
export function messageId(msg: Buffer): number | undefined {
  return msg.length >= 2 ? msg.readUInt16BE(0) : undefined;
}

export interface DnsAnswer {
  /** IPv4 or IPv6 text; its family decides the record type. */
  address: string;
  ttl: number;
}

function encodeAddress(address: string): Buffer | undefined {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  if (!isIPv6(address)) return undefined;
  // Expand "::" and any embedded IPv4 tail to eight 16-bit groups.
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export interface ResponseOptions {
  rcode: number;
  answers?: DnsAnswer[];
  /** We are the authority for the names we answer (they exist nowhere else). */
  authoritative?: boolean;
  recursionAvailable?: boolean;
  /** Size limit: above it the answers are dropped and TC set, so the client retries over TCP. */
  limit?: number;
}

/** A response to `query` (its question echoed; answers point at it with compression). */
export function buildResponse(query: Pick<DnsQuery, 'id' | 'opcode' | 'recursionDesired' | 'rawQuestion'>, opts: ResponseOptions): Buffer {
  const records: Buffer[] = [];
  for (const a of opts.answers ?? []) {
    const rdata = encodeAddress(a.address);
    if (!rdata) continue;
    const rr = Buffer.alloc(12 + rdata.length);
    rr.writeUInt16BE(0xc000 | HEADER, 0); // the name: a pointer to the question's
    rr.writeUInt16BE(rdata.length === 4 ? QTYPE.A : QTYPE.AAAA, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(a.ttl, 6);
    rr.writeUInt16BE(rdata.length, 10);
    rdata.copy(rr, 12);
    records.push(rr);
  }
  const size = HEADER + query.rawQuestion.length + records.reduce((n, r) => n + r.length, 0);
  const truncated = opts.limit !== undefined && size > opts.limit;
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(query.id, 0);
  const flags =
    0x8000 |
    ((query.opcode & 0xf) << 11) |
    (opts.authoritative ? 0x0400 : 0) |
    (truncated ? 0x0200 : 0) |
    (query.recursionDesired ? 0x0100 : 0) |
    (opts.recursionAvailable ? 0x0080 : 0) |
    (opts.rcode & 0xf);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(query.rawQuestion.length > 0 ? 1 : 0, 4);
  header.writeUInt16BE(truncated ? 0 : records.length, 6);
  return Buffer.concat([header, query.rawQuestion, ...(truncated ? [] : records)]);
}

/** FORMERR for a message that could not be parsed as a query (no question echoed). */
export function formatErrorResponse(id: number): Buffer {
  return buildResponse({ id, opcode: 0, recursionDesired: false, rawQuestion: Buffer.alloc(0) }, { rcode: RCODE.FORMERR });
}
