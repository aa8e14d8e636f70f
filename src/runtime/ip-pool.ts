/**
 * IPv4 addresses for pods out of the mesh's pod CIDR: the first host address belongs to the bridge
 * (the pods' gateway), the rest are handed out in order and returned when a pod goes away, so a
 * restarted pod usually gets a fresh address rather than a dead pod's.
 */
import { isIPv4 } from 'node:net';
import { SailfinError } from '../common/errors.js';

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  network: number;
  prefix: number;
}

export function parseCidr(cidr: string, field = 'pod CIDR'): Cidr {
  const [ip, bits] = cidr.split('/');
  const prefix = Number(bits);
  if (!isIPv4(ip) || !/^\d+$/.test(bits ?? '') || prefix < 8 || prefix > 30) {
    throw new SailfinError('schema', `"${cidr}" is not an IPv4 CIDR with a prefix from /8 to /30`, { field });
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (ipToInt(ip) & mask) >>> 0, prefix };
}

export class IpPool {
  readonly cidr: Cidr;
  /** The bridge's address: the pods' default gateway. */
  readonly gateway: string;
  private readonly inUse = new Set<number>();
  private next: number;
  private readonly last: number;

  constructor(cidr: string) {
    this.cidr = parseCidr(cidr);
    const size = 2 ** (32 - this.cidr.prefix);
    this.gateway = intToIp(this.cidr.network + 1);
    this.next = this.cidr.network + 2;
    this.last = this.cidr.network + size - 2; // the top address is broadcast
  }

  get prefix(): number {
    return this.cidr.prefix;
  }

  /** The next free address (searching forward and wrapping round), or an error when the CIDR is full. */
  allocate(): string {
    const first = this.cidr.network + 2;
    const count = this.last - first + 1;
    for (let i = 0; i < count; i++) {
      const candidate = first + ((this.next - first + i) % count);
      if (!this.inUse.has(candidate)) {
        this.inUse.add(candidate);
        this.next = candidate + 1 > this.last ? first : candidate + 1;
        return intToIp(candidate);
      }
    }
    throw new SailfinError('runtime', `the pod CIDR ${intToIp(this.cidr.network)}/${this.cidr.prefix} has no free address left`);
  }

  release(ip: string): void {
    this.inUse.delete(ipToInt(ip));
  }
}
