/**
 * The HCM `tracing` block Istio generates from the mesh config's proxy defaults
 * (`defaultConfig.tracing.zipkin.address`, `defaultConfig.tracing.sampling`): a Zipkin tracer
 * reporting to the collector Service's outbound cluster, with Istio's custom tags. Istio turns
 * tracing on by default (1 % sampling to zipkin.istio-system:9411); Sailfin does so when the mesh
 * config asks for tracing or when a collector Service answers at the default address, so a mesh
 * without a collector does no tracing work.
 */
import { isObject, type JsonObject } from '../../proxy/config/fields.js';
import type { GenContext } from '../context.js';
import type { MeshService } from '../model.js';

export const DEFAULT_ZIPKIN_ADDRESS = 'zipkin.istio-system:9411';
export const DEFAULT_SAMPLING_PERCENT = 1;

export interface TracingSettings {
  /** host:port of the Zipkin collector, as in `defaultConfig.tracing.zipkin.address`. */
  readonly zipkinAddress: string;
  /** Percentage of requests without a sampling decision that are traced. */
  readonly sampling: number;
  /** The mesh config set `defaultConfig.tracing` (tracing on even before the collector exists). */
  readonly explicit: boolean;
}

/** Reads `defaultConfig.tracing` of the mesh config (kept as written by the mesh config parser). */
export function tracingSettings(defaultConfig: Readonly<Record<string, unknown>>): TracingSettings {
  const t = defaultConfig.tracing;
  if (!isObject(t)) return { zipkinAddress: DEFAULT_ZIPKIN_ADDRESS, sampling: DEFAULT_SAMPLING_PERCENT, explicit: false };
  const z = isObject(t.zipkin) ? t.zipkin : {};
  const address = typeof z.address === 'string' && z.address.includes(':') ? z.address : DEFAULT_ZIPKIN_ADDRESS;
  const s = Number(t.sampling);
  return { zipkinAddress: address, sampling: Number.isFinite(s) && s >= 0 && s <= 100 ? s : DEFAULT_SAMPLING_PERCENT, explicit: true };
}

/** `zipkin.istio-system:9411` → the outbound cluster of that Service (`outbound|9411||zipkin.istio-system.svc.cluster.local`). */
export function collectorCluster(address: string, domain: string, rootNamespace: string): { cluster: string; host: string; port: number } {
  const c = address.lastIndexOf(':');
  const host = address.slice(0, c);
  const port = Number(address.slice(c + 1));
  const parts = host.split('.');
  let fqdn = host;
  if (parts.length === 1) fqdn = `${host}.${rootNamespace}.svc.${domain}`;
  else if (parts.length === 2) fqdn = `${host}.svc.${domain}`;
  else if (parts.length === 3 && parts[2] === 'svc') fqdn = `${host}.${domain}`;
  return { cluster: `outbound|${port}||${fqdn}`, host: fqdn, port };
}

const perContext = new WeakMap<GenContext, JsonObject | null>();

/** The HCM `tracing` field for this proxy, or undefined when tracing is off. Computed once per generation context. */
export function hcmTracing(ctx: GenContext): JsonObject | undefined {
  const hit = perContext.get(ctx);
  if (hit !== undefined) return hit ?? undefined;
  const settings = ctx.mesh.tracing ?? tracingSettings({});
  const collector = collectorCluster(settings.zipkinAddress, ctx.mesh.domain, ctx.mesh.rootNamespace);
  const exists = ctx.services.services().some((s: MeshService) => s.hostname === collector.host);
  let out: JsonObject | null = null;
  if (settings.explicit || exists) {
    out = {
      random_sampling: { value: settings.sampling },
      client_sampling: { value: 100 },
      overall_sampling: { value: 100 },
      max_path_tag_length: 256,
      // Only mesh-wide tags: listeners are shared by the sidecars of one scope, so the per-workload
      // istio.canonical_service/_revision and istio.namespace come from each proxy's node metadata.
      custom_tags: [{ tag: 'istio.mesh_id', literal: { value: ctx.mesh.domain } }],
      provider: {
        name: 'envoy.tracers.zipkin',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
          collector_cluster: collector.cluster,
          collector_endpoint: '/api/v2/spans',
          collector_endpoint_version: 'HTTP_JSON',
          collector_hostname: `${collector.host}:${collector.port}`,
          trace_id_128bit: true,
          shared_span_context: false,
        },
      },
    };
  }
  perContext.set(ctx, out);
  return out ?? undefined;
}
