/**
 * One ADS stream as the server sees it: who is on the other end, what it subscribed to, and, per type,
 * what was last sent, what it acknowledged and what it rejected. /debug/syncz and config_dump read this.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EnvoyJson, JsonObject } from './envoy-json.js';
import type { EncodedResource } from './resource-encoder.js';
import type { ConnectedProxy } from './generator.js';
import { TypeUrl, type XdsTypeUrl } from './protos.js';
import type { PushRound } from './push-round.js';

export interface NackRecord {
  /** The version the proxy still runs (the one it rejected is `rejectedNonce`'s response). */
  version: string;
  rejectedNonce: string;
  message: string;
  at: Date;
}

export interface WatchState {
  readonly typeUrl: XdsTypeUrl;
  /** Subscribed names; [] is wildcard for LDS/CDS. */
  names: string[];
  sentVersion?: string;
  sentNonce?: string;
  sentAt?: Date;
  /** What the last response carried (for delta: what the proxy holds), for config_dump and change detection. */
  sentResources: ReadonlyMap<string, EncodedResource>;
  /** Delta only: the version of each resource the proxy holds. */
  sentHashes?: Map<string, string>;
  /** SotW: the raw resource_names bytes of the request `names` came from (ACKs repeating them skip decoding). */
  namesRaw?: Uint8Array;
  /** `names` as a set, built on first use. */
  nameSet?: Set<string>;
  ackedVersion?: string;
  ackedAt?: Date;
  lastNack?: NackRecord;
  /** The version the proxy said it runs when it (re)subscribed: set when it carried config over from an earlier stream. */
  resumedFrom?: string;
}

/** Types whose empty subscription means "everything" (xDS wildcard). */
export function isWildcardCapable(typeUrl: string): boolean {
  return typeUrl === TypeUrl.Listener || typeUrl === TypeUrl.Cluster;
}

/** The subscription a request expresses: explicit "*" also means wildcard. */
export function normalizeNames(names: readonly string[]): string[] {
  // Proxies resend the same (usually sorted) list with every ACK; check that in one pass before sorting.
  let sortedUnique = true;
  for (let i = 0; i < names.length; i++) {
    if (names[i] === '*') return [];
    if (i > 0 && !(names[i - 1] < names[i])) sortedUnique = false;
  }
  return sortedUnique ? [...names] : [...new Set(names)].sort();
}

export class ProxyConnection implements ConnectedProxy {
  readonly connectionId: string;
  readonly connectedAt = new Date();
  readonly scratch = new Map<string | symbol, unknown>();
  readonly watches = new Map<XdsTypeUrl, WatchState>();
  closed = false;
  /**
   * Sends one type on this stream in its protocol (state of the world or delta); `force` sends even when
   * nothing changed. Set by the stream handler; pushes go through it, passing what the push's streams share.
   */
  sender: ((type: XdsTypeUrl, force: boolean, round?: PushRound) => Promise<boolean>) | undefined;
  /** 'sotw' or 'delta', for syncz. */
  protocol: 'sotw' | 'delta' = 'sotw';
  private queue: Promise<void> = Promise.resolve();
  /** Releases of write-budget grants whose writes have not completed (given back if the stream dies first). */
  readonly pendingWrites = new Set<() => void>();

  constructor(
    readonly id: string,
    readonly node: EnvoyJson,
    readonly metadata: JsonObject,
    private readonly logger: Logger,
  ) {
    this.connectionId = `${id}-${randomUUID().slice(0, 8)}`;
  }

  subscribedNames(typeUrl: XdsTypeUrl): readonly string[] | undefined {
    return this.watches.get(typeUrl)?.names;
  }

  /**
   * Run `work` after everything queued before it on this stream. Responses on one stream must leave in the
   * order they were decided (CDS before LDS), even though generation may await.
   */
  enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(async () => {
      if (this.closed) return;
      try {
        await work();
      } catch (err) {
        this.logger.error({ err, proxy: this.id }, 'xds: failed to serve proxy');
      }
    });
    this.queue = next;
    return next;
  }
}
