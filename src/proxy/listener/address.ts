/**
 * Envoy's `address: {socket_address: {address, port_value}}`, shared by listeners and admin.
 */
import { isIP } from 'node:net';
import { assertKnownFields, configError, join, optNumber, optString, reqObject, type JsonObject } from '../config/fields.js';

export interface SocketAddress {
  readonly address: string;
  readonly port: number;
}

export function parseSocketAddress(json: JsonObject, path: string): SocketAddress {
  assertKnownFields(json, ['socket_address'], path);
  const p = join(path, 'socket_address');
  const sa = reqObject(json, 'socket_address', path);
  assertKnownFields(sa, ['address', 'port_value', 'protocol', 'ipv4_compat'], p);
  const proto = optString(sa, 'protocol', p);
  if (proto !== undefined && proto !== 'TCP') throw configError(join(p, 'protocol'), `unsupported value ${JSON.stringify(proto)} (only TCP)`);
  const address = optString(sa, 'address', p) ?? '0.0.0.0';
  if (isIP(address) === 0) throw configError(join(p, 'address'), `"${address}" is not an IP address`);
  const port = optNumber(sa, 'port_value', p, { min: 0, max: 65535, integer: true }) ?? 0;
  return { address, port };
}

/** `ip:port`, with brackets for IPv6, as Envoy prints addresses. */
export function formatAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as Node reports it, back to plain IPv4. */
export function plainIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
