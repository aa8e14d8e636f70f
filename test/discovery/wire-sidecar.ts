/**
 * A sidecar's ADS stream for the push-scope tests over the wire: a raw stream that logs every response
 * and answers it as the test's Envoy would (`answer`), so a test can say which types each change sent.
 */
import type { DiscoveryResponse } from '../../src/xds/ads-service.js';
import type { EnvoyJson } from '../../src/xds/envoy-json.js';
import { TypeUrl } from '../../src/xds/protos.js';
import { RawAdsStream, decoded } from '../xds/helpers.js';

const SHORT: Record<string, string> = { [TypeUrl.Cluster]: 'CDS', [TypeUrl.ClusterLoadAssignment]: 'EDS', [TypeUrl.Listener]: 'LDS', [TypeUrl.RouteConfiguration]: 'RDS' };

export class WireSidecar {
  /** What arrived; tests clear it before each change. */
  readonly log: DiscoveryResponse[] = [];
  /** The last response of each type, whenever it came. */
  private readonly latest = new Map<string, DiscoveryResponse>();
  protected readonly stream: RawAdsStream;
  private readonly pumping: Promise<void>;

  /** Subscribes to `subscriptions` (type → names) and ACKs every response through `answer`. */
  constructor(port: number, nodeId: string, metadata: EnvoyJson, subscriptions: ReadonlyArray<[string, string[]]>, private readonly answer: (res: DiscoveryResponse, stream: RawAdsStream) => void) {
    this.stream = new RawAdsStream(port, nodeId, metadata);
    for (const [type_url, resource_names] of subscriptions) this.stream.send({ type_url, resource_names });
    this.pumping = this.pump();
  }

  private async pump(): Promise<void> {
    for (;;) {
      let res: DiscoveryResponse;
      try {
        res = await this.stream.next(60_000);
      } catch {
        return; // closed
      }
      this.log.push(res);
      this.latest.set(res.type_url, res);
      this.answer(res, this.stream);
    }
  }

  /** What arrived since the log was last cleared, as CDS/EDS/LDS/RDS. */
  types(): string[] {
    return this.log.map((r) => SHORT[r.type_url] ?? r.type_url);
  }

  /** The resources of the last response of `type`. */
  last(type: string): Array<Record<string, unknown>> | undefined {
    const res = this.latest.get(type);
    return res && (decoded(res) as Array<Record<string, unknown>>);
  }

  async close(): Promise<void> {
    this.stream.close();
    await this.pumping;
  }
}

/** Waits until no sidecar has received anything for `quietMs` (the push and any follow-up are over). */
export async function quiet(sidecars: readonly WireSidecar[], quietMs = 300): Promise<void> {
  let count = -1;
  for (;;) {
    const now = sidecars.reduce((n, s) => n + s.log.length, 0);
    if (now === count) return;
    count = now;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}
