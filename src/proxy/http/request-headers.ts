/**
 * What the connection manager does to a request before routing it: x-forwarded-for/-proto by
 * use_remote_address, x-request-id (generated unless kept), x-forwarded-client-cert by
 * forward_client_cert_details, and the path and host normalizations (merge_slashes, normalize_path,
 * strip_any_host_port).
 */
import { randomFillSync } from 'node:crypto';
import type { ActiveStream } from './active-stream.js';

export function prepareRequestHeaders(s: ActiveStream): void {
  const hcm = s.hcm;
  const h = s.headers;
  const conn = s.conn;
  if (hcm.useRemoteAddress) {
    if (!hcm.skipXffAppend) {
      const xff = h.getJoined('x-forwarded-for');
      h.set('x-forwarded-for', xff ? xff + ',' + conn.remoteAddress : conn.remoteAddress);
    }
    h.set('x-forwarded-proto', s.scheme);
  } else if (!h.has('x-forwarded-proto')) h.add('x-forwarded-proto', s.scheme);
  s.info.forwardedFor = h.getJoined('x-forwarded-for');
  let rid = h.get('x-request-id');
  if (hcm.generateRequestId && (rid === undefined || (hcm.useRemoteAddress && !hcm.preserveExternalRequestId && !isInternal(conn.remoteAddress)))) {
    rid = newRequestId();
    h.set('x-request-id', rid);
  }
  s.info.requestId = rid;
  forwardClientCert(s);
}

function forwardClientCert(s: ActiveStream): void {
  const mode = s.hcm.forwardClientCert;
  const h = s.headers;
  if (mode === 'FORWARD_ONLY' || mode === 'ALWAYS_FORWARD_ONLY') return;
  const mtls = s.conn.peerCertificate !== undefined || s.conn.peerUri !== undefined;
  if (mode === 'SANITIZE' || !mtls) {
    h.remove('x-forwarded-client-cert');
    return;
  }
  const cc = s.hcm.setCurrentClientCert;
  let v = '';
  if (s.conn.localUri) v += `By=${s.conn.localUri};`;
  const fp = s.conn.peerCertificate?.fingerprint256;
  if (fp) v += `Hash=${fp.replace(/:/g, '').toLowerCase()};`;
  if (cc.subject && s.conn.peerCertificate?.subject) v += `Subject="${subjectString(s.conn.peerCertificate.subject)}";`;
  if (cc.uri && s.conn.peerUri) v += `URI=${s.conn.peerUri};`;
  v = v.replace(/;$/, '');
  if (mode === 'APPEND_FORWARD') {
    const prev = h.getJoined('x-forwarded-client-cert');
    h.set('x-forwarded-client-cert', prev ? prev + ',' + v : v);
  } else h.set('x-forwarded-client-cert', v);
}

/** Random bytes for request ids, refilled 256 ids at a time. */
const ID_POOL = Buffer.allocUnsafe(16 * 256);
let idPoolOffset = ID_POOL.length;
const ID_TEXT = Buffer.allocUnsafe(36);
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * A random (version 4) UUID for x-request-id. Why not crypto.randomUUID: it builds the text from
 * 16 two-digit strings, about 600 bytes of garbage per request on the proxy's hot path; this writes
 * the 36 characters into a scratch buffer and makes one string. The bytes come from the same CSPRNG.
 */
export function newRequestId(): string {
  if (idPoolOffset === ID_POOL.length) {
    randomFillSync(ID_POOL);
    idPoolOffset = 0;
  }
  const o = idPoolOffset;
  idPoolOffset += 16;
  let j = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) ID_TEXT[j++] = 45; // '-'
    let b = ID_POOL[o + i];
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // RFC 4122 variant
    ID_TEXT[j++] = HEX[b >> 4];
    ID_TEXT[j++] = HEX[b & 15];
  }
  return ID_TEXT.toString('latin1', 0, 36);
}

export function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const e = host.indexOf(']');
    return e < 0 ? host : host.slice(0, e + 1);
  }
  const c = host.lastIndexOf(':');
  return c < 0 ? host : host.slice(0, c);
}

function isInternal(ip: string): boolean {
  return ip.startsWith('10.') || ip.startsWith('192.168.') || ip.startsWith('127.') || ip === '::1' || /^172\.(1[6-9]|2\d|3[01])\./.test(ip) || ip.startsWith('::ffff:127.');
}

function subjectString(subject: Record<string, unknown>): string {
  return Object.entries(subject)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(',');
}

/** RFC 3986 dot-segment removal and `//` merging, applied to the path part only. */
export function normalizePath(full: string, dots: boolean, merge: boolean): string {
  const q = full.indexOf('?');
  let p = q < 0 ? full : full.slice(0, q);
  const rest = q < 0 ? '' : full.slice(q);
  if (merge) p = p.replace(/\/{2,}/g, '/');
  if (dots && p.includes('.')) {
    const out: string[] = [];
    for (const seg of p.split('/')) {
      if (seg === '.') continue;
      if (seg === '..') {
        if (out.length > 1) out.pop();
        continue;
      }
      out.push(seg);
    }
    p = out.join('/');
    if (!p.startsWith('/')) p = '/' + p;
    if ((full.endsWith('/.') || full.endsWith('/..')) && !p.endsWith('/')) p += '/';
  }
  return p + rest;
}
