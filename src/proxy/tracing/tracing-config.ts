/**
 * The HTTP connection manager's `tracing` block compiled once per HCM: sampling percentages, custom
 * tags, and the provider (`envoy.tracers.zipkin` with a ZipkinConfig naming the collector cluster).
 * A stream asks `start` for its span and `finish` reports it; nothing runs when tracing is absent.
 */
import { assertKnownFields, configError, isObject, join, optArray, optBool, optNumber, optObject, optString, reqString, typeUrlOf, unsupported, type JsonObject } from '../config/fields.js';
import type { ProxyContext } from '../context.js';
import type { ActiveStream } from '../http/active-stream.js';
import { localWorkload, type Workload } from '../stats/istio-labels.js';
import { ActiveSpan, buildSpan, startSpan, type ZipkinEndpoint } from './span.js';
import { zipkinReporter, type ZipkinReporter } from './zipkin-reporter.js';

export const ZIPKIN_CONFIG_TYPE = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';
const TRACING_FIELDS = ['random_sampling', 'client_sampling', 'overall_sampling', 'verbose', 'max_path_tag_length', 'custom_tags', 'provider', 'spawn_upstream_span'];
const ZIPKIN_FIELDS = ['@type', 'collector_cluster', 'collector_endpoint', 'collector_endpoint_version', 'trace_id_128bit', 'shared_span_context', 'collector_hostname', 'split_spans_for_request'];

export interface CustomTag {
  readonly tag: string;
  readonly value?: string;
  readonly header?: string;
  readonly defaultValue?: string;
}

export class HttpTracer {
  constructor(
    private readonly reporter: ZipkinReporter | undefined,
    /** Percentages (0–100), Envoy's `random_sampling`, `client_sampling`, `overall_sampling`. */
    private readonly randomSampling: number,
    private readonly clientSampling: number,
    private readonly overallSampling: number,
    readonly customTags: readonly CustomTag[],
    readonly maxPathTagLength: number,
    readonly nodeId: string,
    readonly localEndpoint: ZipkinEndpoint,
  ) {}

  /** The sampling decision for a request that brought none. */
  sample(forcedByClient: boolean): boolean {
    const pct = forcedByClient ? this.clientSampling : this.randomSampling;
    if (pct <= 0 || Math.random() * 100 >= pct) return false;
    return this.overallSampling >= 100 || Math.random() * 100 < this.overallSampling;
  }

  start(s: ActiveStream): ActiveSpan {
    return startSpan(this, s);
  }

  finish(span: ActiveSpan, s: ActiveStream): void {
    if (!span.sampled || !this.reporter) return;
    this.reporter.report(buildSpan(this, span, s));
  }
}

function percent(json: JsonObject, key: string, path: string): number {
  const o = optObject(json, key, path);
  if (!o) return 100;
  assertKnownFields(o, ['value'], join(path, key));
  return optNumber(o, 'value', join(path, key), { min: 0, max: 100 }) ?? 0;
}

function customTags(list: unknown[], path: string): CustomTag[] {
  return list.map((t, i) => {
    const p = join(path, i);
    if (!isObject(t)) throw configError(p, 'must be an object');
    assertKnownFields(t, ['tag', 'literal', 'environment', 'request_header', 'metadata'], p);
    const tag = reqString(t, 'tag', p);
    const lit = optObject(t, 'literal', p);
    if (lit) return { tag, value: reqString(lit, 'value', join(p, 'literal')) };
    const env = optObject(t, 'environment', p);
    if (env) return { tag, value: process.env[reqString(env, 'name', join(p, 'environment'))] ?? optString(env, 'default_value', join(p, 'environment')) };
    const rh = optObject(t, 'request_header', p);
    if (rh) return { tag, header: reqString(rh, 'name', join(p, 'request_header')).toLowerCase(), defaultValue: optString(rh, 'default_value', join(p, 'request_header')) };
    throw unsupported(p, 'only literal, environment and request_header custom tags are supported');
  });
}

function localEndpoint(ctx: ProxyContext, local: Workload): ZipkinEndpoint {
  const md = ctx.node.metadata;
  const known = local.workload !== 'unknown' && local.namespace !== 'unknown';
  // Envoy names the local service after the node's cluster (Istio: "<app>.<namespace>").
  const serviceName = ctx.node.cluster || (known ? `${local.workload}.${local.namespace}` : 'sailfin-proxy');
  const ips = typeof md.INSTANCE_IPS === 'string' ? md.INSTANCE_IPS.split(',')[0] : undefined;
  const e: ZipkinEndpoint = { serviceName };
  if (ips) {
    if (ips.includes(':')) e.ipv6 = ips;
    else e.ipv4 = ips;
  }
  return e;
}

/** Undefined when the HCM has no `tracing` block (no per-request tracing work at all). */
export function compileTracing(json: JsonObject | undefined, ctx: ProxyContext, path: string): HttpTracer | undefined {
  if (!json) return undefined;
  assertKnownFields(json, TRACING_FIELDS, path);
  let reporter: ZipkinReporter | undefined;
  const provider = optObject(json, 'provider', path);
  if (provider) {
    const pp = join(path, 'provider');
    assertKnownFields(provider, ['name', 'typed_config'], pp);
    const typed = optObject(provider, 'typed_config', pp);
    if (!typed) throw configError(join(pp, 'typed_config'), 'required field is missing');
    const tp = join(pp, 'typed_config');
    const type = typeUrlOf(typed, tp);
    if (type !== ZIPKIN_CONFIG_TYPE) throw unsupported(join(tp, '@type'), `tracer ${JSON.stringify(type)} is not supported by Sailfin (only ${ZIPKIN_CONFIG_TYPE})`);
    assertKnownFields(typed, ZIPKIN_FIELDS, tp);
    const cluster = reqString(typed, 'collector_cluster', tp);
    const endpoint = reqString(typed, 'collector_endpoint', tp);
    const version = optString(typed, 'collector_endpoint_version', tp) ?? 'HTTP_JSON';
    if (version !== 'HTTP_JSON') throw unsupported(join(tp, 'collector_endpoint_version'), `only HTTP_JSON is supported`);
    if (optBool(typed, 'shared_span_context', tp) === true) throw unsupported(join(tp, 'shared_span_context'), 'Sailfin gives each hop its own span (shared_span_context: false)');
    optBool(typed, 'trace_id_128bit', tp);
    reporter = zipkinReporter(ctx, { cluster, endpoint, hostname: optString(typed, 'collector_hostname', tp) ?? cluster });
  }
  optBool(json, 'verbose', path);
  optBool(json, 'spawn_upstream_span', path);
  const local = localWorkload(ctx.node);
  // Istio's per-workload span tags, from this proxy's own metadata; custom_tags of the same name win.
  const nodeTags: CustomTag[] = [
    { tag: 'istio.canonical_service', value: local.canonicalService },
    { tag: 'istio.canonical_revision', value: local.canonicalRevision },
    { tag: 'istio.namespace', value: local.namespace },
  ];
  const custom = customTags(optArray(json, 'custom_tags', path), join(path, 'custom_tags'));
  return new HttpTracer(
    reporter,
    percent(json, 'random_sampling', path),
    percent(json, 'client_sampling', path),
    percent(json, 'overall_sampling', path),
    [...nodeTags.filter((n) => !custom.some((c) => c.tag === n.tag)), ...custom],
    optNumber(json, 'max_path_tag_length', path, { min: 1 }) ?? 256,
    ctx.node.id,
    localEndpoint(ctx, local),
  );
}
