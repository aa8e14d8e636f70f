/**
 * Hands out IPv4 addresses from a CIDR to named owners (pods, services). The same owner keeps its address
 * for as long as it exists, whatever else changes; a released address becomes free again. The first
 * address tried is derived from a hash of the owner's name (then the next ones in turn), so an owner gets
 * the same address across restarts and whatever order manifests are applied in, unless two owners hash
 * to the same address, in which case only the later of the pair depends on order.
 *
 * Addresses whose last octet is 0, 1 or 255 are never handed out: .0 and .255 look like network/broadcast
 * addresses to many tools, and .1 is where the local runtime puts bridge gateways.
 */
import { SailfinError } from '../common/errors.js';

export function ipv4ToNumber(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function numberToIpv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  readonly base: number;
  readonly prefix: number;
  readonly size: number;
}

export function parseCidr(cidr: string): Cidr {
  const [ip, bits] = cidr.split('/');
  const base = ipv4ToNumber(ip ?? '');
  const prefix = Number(bits);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
    throw new SailfinError('semantic', `"${cidr}" is not an IPv4 CIDR between /8 and /30`);
  }
  const size = 2 ** (32 - prefix);
  return { base: base - (base % size), prefix, size };
}

export function cidrContains(cidr: Cidr, ip: string): boolean {
  const n = ipv4ToNumber(ip);
  return n !== undefined && n >= cidr.base && n < cidr.base + cidr.size;
}

/** FNV-1a, 32 bits: cheap, well spread over short names, and the same on every run. */
function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function usable(n: number): boolean {
  const last = n & 255;
  return last !== 0 && last !== 1 && last !== 255;
}

export class IpAllocator {
  readonly cidr: Cidr;
  private readonly byOwner = new Map<string, string>();
  private readonly byIp = new Map<string, string>();
  constructor(cidr: string) {
    this.cidr = parseCidr(cidr);
  }

  /** The owner's address, allocating one the first time (see the file comment for which). */
  allocate(owner: string): string {
    const held = this.byOwner.get(owner);
    if (held) return held;
    const start = fnv1a32(owner) % this.cidr.size;
    for (let i = 0; i < this.cidr.size; i++) {
      const n = this.cidr.base + ((start + i) % this.cidr.size);
      if (!usable(n)) continue;
      const ip = numberToIpv4(n);
      if (this.byIp.has(ip)) continue;
      this.hold(owner, ip);
      return ip;
    }
    throw new SailfinError('runtime', `no free address left in ${numberToIpv4(this.cidr.base)}/${this.cidr.prefix}`);
  }

  /**
   * Claims a specific address (a manifest's `clusterIP` or `status.podIP`). Returns false when another owner
   * holds it. Addresses outside the CIDR are recorded for the owner but never block allocation.
   */
  reserve(owner: string, ip: string): boolean {
    const holder = this.byIp.get(ip);
    if (holder !== undefined && holder !== owner) return false;
    if (this.byOwner.get(owner) !== ip) this.release(owner);
    this.hold(owner, ip);
    return true;
  }

  release(owner: string): void {
    const ip = this.byOwner.get(owner);
    if (ip === undefined) return;
    this.byOwner.delete(owner);
    this.byIp.delete(ip);
  }

  addressOf(owner: string): string | undefined {
    return this.byOwner.get(owner);
  }

  ownerOf(ip: string): string | undefined {
    return this.byIp.get(ip);
  }

  get size(): number {
    return this.byOwner.size;
  }

  private hold(owner: string, ip: string): void {
    this.byOwner.set(owner, ip);
    this.byIp.set(ip, owner);
  }
}
