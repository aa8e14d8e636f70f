/**
 * CIDR ranges (`{address_prefix, prefix_len}`) as used by filter_chain_match, parsed once into
 * bytes so a connection's address is tested without string work.
 */
import { isIP } from 'node:net';
import { assertKnownFields, configError, join, optNumber, reqString, type JsonObject } from '../config/fields.js';

export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefixLen: number;
}

export function ipBytes(ip: string): Uint8Array | undefined {
  if (ip.startsWith('::ffff:') && ip.includes('.')) ip = ip.slice(7);
  const family = isIP(ip);
  if (family === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (family !== 6) return undefined;
  const [head, tail] = ip.split('::');
  const parse = (s: string | undefined): number[] => (s ? s.split(':').flatMap((g) => (g.includes('.') ? hex4(g) : [parseInt(g, 16)])) : []);
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  const groups = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

function hex4(v4: string): number[] {
  const b = v4.split('.').map(Number);
  return [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
}

export function parseCidr(json: JsonObject, path: string): Cidr {
  assertKnownFields(json, ['address_prefix', 'prefix_len'], path);
  const addr = reqString(json, 'address_prefix', path);
  const bytes = ipBytes(addr);
  if (!bytes) throw configError(join(path, 'address_prefix'), `"${addr}" is not an IP address`);
  const max = bytes.length * 8;
  const prefixLen = optNumber(json, 'prefix_len', path, { min: 0, max, integer: true }) ?? max;
  return { bytes, prefixLen };
}

export function cidrContains(c: Cidr, ip: Uint8Array | undefined): boolean {
  if (!ip || ip.length !== c.bytes.length) return false;
  let bits = c.prefixLen;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i] & mask) !== (c.bytes[i] & mask)) return false;
  }
  return true;
}
