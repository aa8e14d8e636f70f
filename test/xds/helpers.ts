/** Shared pieces of the xDS tests: a generator serving a fixed, mutable set of resources, and a raw ADS stream. */
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { adsCodecs, type DiscoveryRequest, type DiscoveryResponse } from '../../src/xds/ads-service.js';
import { encodeEnvoyJson, toEnvoyJson, type EnvoyJson } from '../../src/xds/envoy-json.js';
import type { ConnectedProxy, GeneratedResource, XdsGenerator } from '../../src/xds/generator.js';
import { ADS_STREAM_METHOD, lookupMessageType, type XdsTypeUrl } from '../../src/xds/protos.js';

export const silent = pino({ level: 'silent' });

/** Serves whatever the test put in it; counts calls so tests can see what the server asked for. */
export class StaticGenerator implements XdsGenerator {
  readonly resources = new Map<string, Map<string, EnvoyJson>>();
  calls = 0;
  set(typeUrl: XdsTypeUrl, name: string, resource: EnvoyJson): this {
    let byName = this.resources.get(typeUrl);
    if (!byName) this.resources.set(typeUrl, (byName = new Map()));
    byName.set(name, resource);
    return this;
  }
  delete(typeUrl: XdsTypeUrl, name: string): void {
    this.resources.get(typeUrl)?.delete(name);
  }
  generate(_proxy: ConnectedProxy, typeUrl: XdsTypeUrl): GeneratedResource[] {
    this.calls++;
    return [...(this.resources.get(typeUrl) ?? new Map<string, EnvoyJson>())].map(([name, resource]) => ({ name, resource }));
  }
}

/** A bare ADS stream, to drive the protocol step by step (nonces, NACKs, stale answers). */
export class RawAdsStream {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  private readonly inbox: DiscoveryResponse[] = [];
  private waiter: (() => void) | undefined;
  private first = true;
  ended = false;

  constructor(port: number, private readonly nodeId: string, private readonly metadata: EnvoyJson = {}) {
    this.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const { request, response } = adsCodecs();
    this.call = this.client.makeBidiStreamRequest(ADS_STREAM_METHOD, request.serialize, response.deserialize);
    this.call.on('data', (res: DiscoveryResponse) => {
      this.inbox.push(res);
      this.waiter?.();
    });
    this.call.on('error', () => {
      this.ended = true;
      this.waiter?.();
    });
  }

  send(req: DiscoveryRequest): void {
    if (this.first) {
      const type = lookupMessageType('envoy.config.core.v3.Node');
      req = { ...req, node: type.decode(encodeEnvoyJson(type.fullName.slice(1), { id: this.nodeId, metadata: this.metadata })) };
      this.first = false;
    }
    this.call.write(req);
  }

  /** ACK (or NACK with `error`) a response. */
  answer(res: DiscoveryResponse, names: string[] = [], error?: string, version = res.version_info): void {
    this.send({
      type_url: res.type_url,
      version_info: version,
      response_nonce: res.nonce,
      resource_names: names,
      error_detail: error ? { code: 3, message: error } : null,
    });
  }

  /** The next response, or a failure after `ms`. */
  async next(ms = 2000): Promise<DiscoveryResponse> {
    const deadline = Date.now() + ms;
    while (this.inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0 || this.ended) throw new Error(`no DiscoveryResponse within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.inbox.shift()!;
  }

  /** Everything received within `ms` (for "exactly N responses" checks). */
  async drain(ms: number): Promise<DiscoveryResponse[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.inbox.splice(0);
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** A response's resources in JSON form, by name. */
export function namesOf(res: DiscoveryResponse): string[] {
  return res.resources.map((any) => {
    const json = toEnvoyJson(res.type_url, any);
    return String(json.name ?? json.cluster_name);
  });
}

export function decoded(res: DiscoveryResponse): EnvoyJson[] {
  return res.resources.map((any) => toEnvoyJson(res.type_url, any));
}

export async function waitFor(check: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  await eventually(what, () => check() || undefined, ms);
}

/** What `fn` returns once it returns something (not undefined or false), polled every 10 ms for up to `ms`. */
export async function eventually<T>(what: string, fn: () => T | undefined | false, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function cluster(name: string, extra: EnvoyJson = {}): EnvoyJson {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } }, ...extra };
}

/** gRPC clients refuse a locality group without `locality` and ignore one without a weight, so both are set as Istio does. */
export function cla(name: string, port: number, address = '127.0.0.1'): EnvoyJson {
  return {
    cluster_name: name,
    endpoints: [
      {
        locality: { region: 'local' },
        lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: port } } }, load_balancing_weight: 1 }],
        load_balancing_weight: 1,
      },
    ],
  };
}

export function tcpListener(name: string, port: number, clusterName: string): EnvoyJson {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.tcp_proxy',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
              stat_prefix: name,
              cluster: clusterName,
            },
          },
        ],
      },
    ],
  };
}
