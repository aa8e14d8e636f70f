/**
 * The `route` action of an Envoy Route (RouteAction) compiled once: cluster choice (single,
 * weighted, from a header), rewrites, timeouts, retries, mirrors, hashing and upgrades.
 */
import { assertKnownFields, configError, isObject, join, optArray, optBool, optDurationMs, optNumber, optObject, optString, unsupported, type JsonObject } from '../config/fields.js';
import { compileHashPolicies, type HashPolicy } from './hash-policy.js';
import { compileHeaderMutation, HEADER_MUTATION_FIELDS, type HeaderMutation } from './header-mutation.js';
import { compileRewriteRegex, toJsSubstitution } from './regex.js';
import { compileRetryPolicy, type RetryPolicy } from './retry-policy.js';

export interface WeightedCluster {
  readonly name: string;
  readonly weight: number;
  readonly requestMutation: HeaderMutation;
  readonly responseMutation: HeaderMutation;
}

export interface MirrorPolicy {
  readonly cluster: string;
  /** Fraction of requests mirrored, 0..1. */
  readonly fraction: number;
  readonly appendShadowSuffix: boolean;
}

export interface RegexRewrite {
  readonly re: RegExp;
  readonly substitution: string;
}

export interface RouteAction {
  readonly cluster?: string;
  readonly weighted?: { readonly clusters: readonly WeightedCluster[]; readonly total: number };
  readonly clusterHeader?: string;
  readonly prefixRewrite?: string;
  readonly regexRewrite?: RegexRewrite;
  readonly hostRewriteLiteral?: string;
  readonly hostRewriteHeader?: string;
  readonly autoHostRewrite: boolean;
  /** Whole-request timeout; 0 disables it. Envoy's default is 15 s. */
  readonly timeoutMs: number;
  /** Stream idle timeout override; undefined = the HCM's. */
  readonly idleTimeoutMs?: number;
  readonly retry?: RetryPolicy;
  readonly mirrors: readonly MirrorPolicy[];
  readonly hash?: HashPolicy;
  /** Upgrade types (lower-case) allowed or denied on this route, overriding the HCM's upgrade_configs. */
  readonly upgrades?: ReadonlyMap<string, boolean>;
  /** max_stream_duration.grpc_timeout_header_max: honour grpc-timeout up to this (0 = no cap). */
  readonly grpcTimeoutHeaderMaxMs?: number;
  readonly maxStreamDurationMs?: number;
}

const ROUTE_ACTION_FIELDS = [
  'cluster', 'weighted_clusters', 'cluster_header', 'prefix_rewrite', 'regex_rewrite', 'host_rewrite_literal', 'auto_host_rewrite',
  'host_rewrite_header', 'timeout', 'idle_timeout', 'retry_policy', 'request_mirror_policies', 'hash_policy', 'upgrade_configs',
  'max_stream_duration', 'max_grpc_timeout', 'cluster_not_found_response_code',
];

/** FractionalPercent {numerator, denominator} → 0..1. */
export function fractionOf(json: JsonObject | undefined, path: string): number {
  if (!json) return 1;
  assertKnownFields(json, ['numerator', 'denominator'], path);
  const num = optNumber(json, 'numerator', path, { min: 0 }) ?? 0;
  const den = optString(json, 'denominator', path) ?? 'HUNDRED';
  const d = den === 'HUNDRED' ? 100 : den === 'TEN_THOUSAND' ? 10_000 : den === 'MILLION' ? 1_000_000 : NaN;
  if (Number.isNaN(d)) throw configError(join(path, 'denominator'), `unsupported value ${JSON.stringify(den)}`);
  return Math.min(1, num / d);
}

/** RuntimeFractionalPercent: only its default_value (Sailfin has no runtime layer). */
export function runtimeFraction(json: JsonObject | undefined, path: string): number {
  if (!json) return 1;
  assertKnownFields(json, ['default_value', 'runtime_key'], path);
  return fractionOf(optObject(json, 'default_value', path), join(path, 'default_value'));
}

export function compileRegexRewrite(json: JsonObject, path: string): RegexRewrite {
  assertKnownFields(json, ['pattern', 'substitution'], path);
  const pattern = optObject(json, 'pattern', path);
  if (!pattern) throw configError(join(path, 'pattern'), 'required field is missing');
  assertKnownFields(pattern, ['regex', 'google_re2'], join(path, 'pattern'));
  const regex = optString(pattern, 'regex', join(path, 'pattern'));
  if (regex === undefined) throw configError(join(join(path, 'pattern'), 'regex'), 'required field is missing');
  return { re: compileRewriteRegex(regex, join(join(path, 'pattern'), 'regex')), substitution: toJsSubstitution(optString(json, 'substitution', path) ?? '') };
}

function compileWeighted(json: JsonObject, path: string): RouteAction['weighted'] {
  assertKnownFields(json, ['clusters', 'total_weight', 'runtime_key_prefix'], path);
  const clusters = optArray(json, 'clusters', path).map((c, i): WeightedCluster => {
    const p = join(join(path, 'clusters'), i);
    if (!isObject(c)) throw configError(p, 'must be an object');
    assertKnownFields(c, ['name', 'weight', ...HEADER_MUTATION_FIELDS], p);
    const name = optString(c, 'name', p);
    if (!name) throw configError(join(p, 'name'), 'required field is missing');
    return {
      name,
      weight: optNumber(c, 'weight', p, { min: 0, integer: true }) ?? 0,
      requestMutation: compileHeaderMutation(c, 'request', p),
      responseMutation: compileHeaderMutation(c, 'response', p),
    };
  });
  if (clusters.length === 0) throw configError(join(path, 'clusters'), 'needs at least one cluster');
  const sum = clusters.reduce((s, c) => s + c.weight, 0);
  const total = optNumber(json, 'total_weight', path, { min: 1, integer: true });
  if (total !== undefined && total !== sum) throw configError(join(path, 'total_weight'), `is ${total} but the cluster weights add up to ${sum}`);
  if (sum === 0) throw configError(join(path, 'clusters'), 'the weights add up to 0');
  return { clusters, total: sum };
}

function compileMirrors(json: JsonObject, path: string): MirrorPolicy[] {
  return optArray(json, 'request_mirror_policies', path).map((m, i) => {
    const p = join(join(path, 'request_mirror_policies'), i);
    if (!isObject(m)) throw configError(p, 'must be an object');
    assertKnownFields(m, ['cluster', 'runtime_fraction', 'trace_sampled', 'disable_shadow_host_suffix_append'], p);
    const cluster = optString(m, 'cluster', p);
    if (!cluster) throw unsupported(join(p, 'cluster'), 'a mirror policy needs a cluster (cluster_header is not supported)');
    return {
      cluster,
      fraction: runtimeFraction(optObject(m, 'runtime_fraction', p), join(p, 'runtime_fraction')),
      appendShadowSuffix: !(optBool(m, 'disable_shadow_host_suffix_append', p) ?? false),
    };
  });
}

export function compileUpgradeConfigs(list: unknown[], path: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  list.forEach((u, i) => {
    const p = join(path, i);
    if (!isObject(u)) throw configError(p, 'must be an object');
    assertKnownFields(u, ['upgrade_type', 'enabled'], p);
    const type = optString(u, 'upgrade_type', p);
    if (!type) throw configError(join(p, 'upgrade_type'), 'required field is missing');
    if (type.toLowerCase() === 'connect') throw unsupported(join(p, 'upgrade_type'), 'CONNECT upgrades are not supported by Sailfin');
    out.set(type.toLowerCase(), optBool(u, 'enabled', p) ?? true);
  });
  return out;
}

export function compileRouteAction(json: JsonObject, path: string): RouteAction {
  assertKnownFields(json, ROUTE_ACTION_FIELDS, path);
  const kinds = ['cluster', 'weighted_clusters', 'cluster_header'].filter((k) => json[k] !== undefined);
  if (kinds.length !== 1) throw configError(path, `needs exactly one of cluster, weighted_clusters, cluster_header (got ${kinds.join(', ') || 'none'})`);
  const nf = optString(json, 'cluster_not_found_response_code', path);
  if (nf !== undefined && nf !== 'SERVICE_UNAVAILABLE') throw unsupported(join(path, 'cluster_not_found_response_code'), `only SERVICE_UNAVAILABLE is supported`);
  const regex = optObject(json, 'regex_rewrite', path);
  const weighted = optObject(json, 'weighted_clusters', path);
  const msd = optObject(json, 'max_stream_duration', path);
  let grpcTimeoutHeaderMaxMs: number | undefined;
  let maxStreamDurationMs: number | undefined;
  if (msd) {
    const mp = join(path, 'max_stream_duration');
    assertKnownFields(msd, ['max_stream_duration', 'grpc_timeout_header_max', 'grpc_timeout_header_offset'], mp);
    maxStreamDurationMs = optDurationMs(msd, 'max_stream_duration', mp);
    grpcTimeoutHeaderMaxMs = optDurationMs(msd, 'grpc_timeout_header_max', mp);
  }
  const legacyGrpc = optDurationMs(json, 'max_grpc_timeout', path);
  if (legacyGrpc !== undefined && grpcTimeoutHeaderMaxMs === undefined) grpcTimeoutHeaderMaxMs = legacyGrpc;
  const rp = optObject(json, 'retry_policy', path);
  const upgrades = json.upgrade_configs !== undefined ? compileUpgradeConfigs(optArray(json, 'upgrade_configs', path), join(path, 'upgrade_configs')) : undefined;
  if (optString(json, 'prefix_rewrite', path) !== undefined && regex) throw configError(path, 'prefix_rewrite and regex_rewrite cannot both be set');
  return {
    cluster: optString(json, 'cluster', path),
    weighted: weighted ? compileWeighted(weighted, join(path, 'weighted_clusters')) : undefined,
    clusterHeader: optString(json, 'cluster_header', path)?.toLowerCase(),
    prefixRewrite: optString(json, 'prefix_rewrite', path),
    regexRewrite: regex ? compileRegexRewrite(regex, join(path, 'regex_rewrite')) : undefined,
    hostRewriteLiteral: optString(json, 'host_rewrite_literal', path),
    hostRewriteHeader: optString(json, 'host_rewrite_header', path)?.toLowerCase(),
    autoHostRewrite: optBool(json, 'auto_host_rewrite', path) ?? false,
    timeoutMs: optDurationMs(json, 'timeout', path) ?? 15_000,
    idleTimeoutMs: optDurationMs(json, 'idle_timeout', path),
    retry: rp ? compileRetryPolicy(rp, join(path, 'retry_policy')) : undefined,
    mirrors: compileMirrors(json, path),
    hash: compileHashPolicies(json, path),
    upgrades,
    grpcTimeoutHeaderMaxMs,
    maxStreamDurationMs,
  };
}

/** Picks a weighted cluster; `r` is uniform in [0, 1). */
export function pickWeighted(w: NonNullable<RouteAction['weighted']>, r: number): WeightedCluster {
  let point = r * w.total;
  const cs = w.clusters;
  for (let i = 0; i < cs.length; i++) {
    point -= cs[i].weight;
    if (point < 0) return cs[i];
  }
  return cs[cs.length - 1];
}
