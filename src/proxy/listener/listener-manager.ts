/**
 * All listeners of the proxy, by name: adds, replaces (keeping the socket when the address is the
 * same, so no connection attempt is refused during an update) and removes them with draining, and
 * hands connections from a use_original_dst listener (Istio's 15001/15006) to the listener whose
 * address matches where the connection was going.
 */
import type { Socket } from 'node:net';
import { originalDst } from '../../runtime/original-dst.js';
import type { JsonObject } from '../config/fields.js';
import type { ProxyContext } from '../context.js';
import { ActiveListener } from './active-listener.js';
import { formatAddress } from './address.js';
import { compileListener } from './listener-config.js';

export type OriginalDstLookup = (socket: Socket) => { address: string; port: number } | undefined;

export interface ListenerManagerOptions {
  /** How long connections of a replaced or removed listener may finish (Istio's default drain is 45s). */
  drainTimeMs?: number;
  /** SO_ORIGINAL_DST by default; injectable where capture cannot be set up. */
  originalDst?: OriginalDstLookup;
}

export interface ListenerStatus {
  name: string;
  address: string;
  port: number;
  bound: boolean;
}

export class ListenerManager {
  private readonly listeners = new Map<string, ActiveListener>();
  private readonly staticNames = new Set<string>();
  private readonly drainTimeMs: number;
  private readonly lookupDst: OriginalDstLookup;
  private draining = false;

  constructor(private readonly ctx: ProxyContext, opts: ListenerManagerOptions = {}) {
    this.drainTimeMs = opts.drainTimeMs ?? 45_000;
    this.lookupDst = opts.originalDst ?? ((s) => originalDst(s));
  }

  /**
   * Adds or replaces a listener. Compile errors throw (SailfinError naming the field) and leave the
   * running listener untouched; so does a failure to bind a new address.
   */
  async addOrUpdate(json: JsonObject, path: string, opts: { static?: boolean; version?: string } = {}): Promise<void> {
    const compiled = compileListener(json, this.ctx, path);
    const existing = this.listeners.get(compiled.name);
    if (existing) {
      const sameSocket =
        existing.config.address.address === compiled.address.address &&
        (existing.config.address.port === compiled.address.port || existing.port === compiled.address.port) &&
        existing.config.bindToPort === compiled.bindToPort;
      if (sameSocket) {
        existing.replace(compiled);
        existing.versionInfo = opts.version ?? existing.versionInfo;
        return;
      }
    }
    const next = new ActiveListener(compiled, this.ctx, this.drainTimeMs, (s, from) => this.handoff(s, from), this.lookupDst);
    await next.start();
    next.versionInfo = opts.version ?? '';
    existing?.stop(true);
    this.listeners.set(compiled.name, next);
    if (opts.static) this.staticNames.add(compiled.name);
  }

  /** Stops accepting on the listener; its connections drain. */
  remove(name: string): boolean {
    const l = this.listeners.get(name);
    if (!l) return false;
    l.stop(true);
    this.listeners.delete(name);
    return true;
  }

  names(): string[] {
    return [...this.listeners.keys()];
  }

  get(name: string): ActiveListener | undefined {
    return this.listeners.get(name);
  }

  status(): ListenerStatus[] {
    return [...this.listeners.values()].map((l) => ({ name: l.name, address: l.address, port: l.port, bound: l.config.bindToPort }));
  }

  /** /drain_listeners: stop accepting everywhere; open connections drain. */
  drainAll(): void {
    this.draining = true;
    for (const l of this.listeners.values()) l.stop(true);
  }

  close(): void {
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
  }

  /** ListenersConfigDump, in Envoy's shape. */
  dump(): JsonObject {
    const staticListeners: JsonObject[] = [];
    const dynamicListeners: JsonObject[] = [];
    for (const l of this.listeners.values()) {
      const listener = { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', ...l.config.json };
      const lastUpdated = l.lastUpdated.toISOString();
      if (this.staticNames.has(l.name)) staticListeners.push({ listener, last_updated: lastUpdated });
      else dynamicListeners.push({ name: l.name, active_state: { version_info: l.versionInfo, listener, last_updated: lastUpdated } });
    }
    return { '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', static_listeners: staticListeners, dynamic_listeners: dynamicListeners };
  }

  /** Finds the listener for an original destination: exact ip:port first, then a wildcard address on that port. */
  findByAddress(address: string, port: number, except?: ActiveListener): ActiveListener | undefined {
    let wildcard: ActiveListener | undefined;
    for (const l of this.listeners.values()) {
      if (l === except || l.config.address.port !== port) continue;
      if (l.address === address) return l;
      if (l.address === '0.0.0.0' || l.address === '::') wildcard ??= l;
    }
    return wildcard;
  }

  private handoff(socket: Socket, from: ActiveListener): boolean {
    const dst = this.lookupDst(socket);
    if (!dst) return false;
    const target = this.findByAddress(dst.address, dst.port, from);
    if (target && !this.draining) {
      target.accept(socket, dst);
      return true;
    }
    // No listener for that destination: this listener's own chains decide (Istio's passthrough chain).
    from.accept(socket, dst);
    return true;
  }

  describe(): string {
    return this.status()
      .map((s) => `${s.name}::${formatAddress(s.address, s.port)}`)
      .join('\n');
  }
}
