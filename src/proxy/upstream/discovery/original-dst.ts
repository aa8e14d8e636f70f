/**
 * ORIGINAL_DST: the host is wherever the downstream connection was going (or the
 * x-envoy-original-dst-host header the router passes). Hosts are created on first use and removed
 * by a sweep every cleanup_interval once unused for a whole interval and idle.
 */
import { isIP } from 'node:net';
import type { LbContext } from '../api.js';
import { HostImpl, NO_LOCALITY, hostKey } from '../host.js';

export class OriginalDstHosts {
  private readonly map = new Map<string, HostImpl>();
  private readonly timer: NodeJS.Timeout;
  private sweepStamp = 0;

  constructor(cleanupIntervalMs: number, private readonly onChange: (hosts: HostImpl[]) => void) {
    this.timer = setInterval(() => this.sweep(), cleanupIntervalMs);
    this.timer.unref();
  }

  choose(ctx: LbContext | undefined): HostImpl | null {
    const dst = ctx?.originalDst;
    if (!dst || !isIP(dst.address) || !(dst.port > 0 && dst.port < 65536)) return null;
    const key = hostKey(dst.address, dst.port);
    let host = this.map.get(key);
    if (!host) {
      host = new HostImpl({ address: dst.address, port: dst.port, weight: 1, locality: NO_LOCALITY, localityWeight: 0, priority: 0, metadata: {}, health: 'HEALTHY' });
      this.map.set(key, host);
      this.onChange([...this.map.values()]);
    }
    host.lastUsed = this.sweepStamp + 1;
    return host;
  }

  private sweep(): void {
    let changed = false;
    for (const [key, host] of this.map) {
      // lastUsed holds the sweep generation it was last used in; unused since the last sweep and idle → gone.
      if (host.lastUsed <= this.sweepStamp && host.activeConnections === 0 && host.activeRequests === 0) {
        this.map.delete(key);
        changed = true;
      }
    }
    this.sweepStamp++;
    if (changed) this.onChange([...this.map.values()]);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
