/**
 * Just enough of a TLS ClientHello to route on: is this TLS at all, the SNI and the offered ALPN list
 * (what Envoy's tls_inspector listener filter extracts). Works on the first bytes of the connection
 * without consuming them; says "need more" until the whole hello (one record) has arrived.
 */

export type ClientHelloResult =
  | { kind: 'tls'; serverName?: string; alpn: string[] }
  | { kind: 'not_tls' }
  | { kind: 'need_more' };

/** ClientHellos beyond this are not worth waiting for (Envoy caps its inspector buffer similarly). */
export const MAX_CLIENT_HELLO = 16 * 1024 + 5;

export function parseClientHello(buf: Buffer): ClientHelloResult {
  if (buf.length === 0) return { kind: 'need_more' };
  if (buf[0] !== 0x16) return { kind: 'not_tls' }; // handshake record
  if (buf.length < 5) return { kind: 'need_more' };
  if (buf[1] !== 0x03) return { kind: 'not_tls' };
  const recLen = buf.readUInt16BE(3);
  if (buf.length < 5 + recLen) return buf.length >= MAX_CLIENT_HELLO ? { kind: 'not_tls' } : { kind: 'need_more' };
  const body = buf.subarray(5, 5 + recLen);
  if (body[0] !== 0x01) return { kind: 'not_tls' }; // client_hello
  try {
    return parseHelloBody(body);
  } catch {
    // A truncated or lying length field: it looked like TLS but is not a hello we can read.
    return { kind: 'tls', alpn: [] };
  }
}

function parseHelloBody(b: Buffer): ClientHelloResult {
  let p = 4; // type(1) + length(3)
  p += 2 + 32; // client_version + random
  p += 1 + b[p]; // session id
  p += 2 + b.readUInt16BE(p); // cipher suites
  p += 1 + b[p]; // compression methods
  const out: { kind: 'tls'; serverName?: string; alpn: string[] } = { kind: 'tls', alpn: [] };
  if (p + 2 > b.length) return out;
  const extEnd = Math.min(b.length, p + 2 + b.readUInt16BE(p));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const start = p + 4;
    const end = start + len;
    if (end > extEnd) break;
    if (type === 0) {
      // server_name: list len(2), then entries of type(1) len(2) name
      let q = start + 2;
      while (q + 3 <= end) {
        const nameType = b[q];
        const nameLen = b.readUInt16BE(q + 1);
        if (nameType === 0 && q + 3 + nameLen <= end) {
          out.serverName = b.toString('latin1', q + 3, q + 3 + nameLen).toLowerCase();
          break;
        }
        q += 3 + nameLen;
      }
    } else if (type === 16) {
      let q = start + 2;
      while (q < end) {
        const l = b[q];
        if (q + 1 + l > end) break;
        out.alpn.push(b.toString('latin1', q + 1, q + 1 + l));
        q += 1 + l;
      }
    }
    p = end;
  }
  return out;
}

const HTTP1_METHODS = ['GET ', 'POST ', 'PUT ', 'DELETE ', 'HEAD ', 'OPTIONS ', 'PATCH ', 'CONNECT ', 'TRACE '];
const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

export type HttpInspection = 'http/1.1' | 'h2c' | 'unknown' | 'need_more';

/** Envoy's http_inspector: the application protocol of a plaintext connection from its first bytes. */
export function inspectHttp(buf: Buffer): HttpInspection {
  const head = buf.toString('latin1', 0, Math.min(buf.length, H2_PREFACE.length));
  if (H2_PREFACE.startsWith(head)) return head.length === H2_PREFACE.length ? 'h2c' : 'need_more';
  for (const m of HTTP1_METHODS) {
    if (head.length >= m.length ? head.startsWith(m) : m.startsWith(head)) {
      if (head.length < m.length) return 'need_more';
      // The request line must end in HTTP/1.x; wait for it (bounded by the caller's buffer cap).
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return buf.length > 8192 ? 'unknown' : 'need_more';
      const line = buf.toString('latin1', 0, nl);
      return / HTTP\/1\.[01]$/.test(line) ? 'http/1.1' : 'unknown';
    }
  }
  return 'unknown';
}
