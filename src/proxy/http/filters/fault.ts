/**
 * envoy.filters.http.fault: delays (DI) and aborts (FI, body "fault filter abort") injected into a
 * percentage of requests, configured on the filter or per route (typed_per_filter_config), with
 * Envoy's header matching and max_active_faults.
 */
import { assertKnownFields, configError, join, optArray, optDurationMs, optNumber, optObject, type JsonObject } from '../../config/fields.js';
import { perRouteConfig } from '../../rbac/per-route.js';
import { addFlag } from '../../stream-info.js';
import type { ActiveStream } from '../active-stream.js';
import { registerHttpFilter, registerPerRouteConfig } from '../filter-registry.js';
import { FilterStatus, type HttpFilter } from '../http-filter.js';
import { BODY_FAULT_ABORT } from '../local-reply.js';
import { compileHeaderMatcher, type RequestPredicate } from '../matchers.js';
import { fractionOf } from '../route-action.js';

export const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

export interface FaultConfig {
  readonly delayMs?: number;
  readonly delayFraction: number;
  readonly abortStatus?: number;
  readonly abortGrpcStatus?: number;
  readonly abortFraction: number;
  readonly headers: readonly RequestPredicate[];
  readonly maxActiveFaults: number;
}

export function compileFaultConfig(json: JsonObject, path: string): FaultConfig {
  assertKnownFields(json, ['@type', 'delay', 'abort', 'headers', 'max_active_faults', 'upstream_cluster', 'downstream_nodes'], path);
  if (json.upstream_cluster !== undefined || json.downstream_nodes !== undefined) {
    throw configError(path, 'upstream_cluster and downstream_nodes are not supported by Sailfin');
  }
  const delay = optObject(json, 'delay', path);
  let delayMs: number | undefined;
  let delayFraction = 0;
  if (delay) {
    const dp = join(path, 'delay');
    assertKnownFields(delay, ['fixed_delay', 'percentage'], dp);
    delayMs = optDurationMs(delay, 'fixed_delay', dp);
    if (delayMs === undefined) throw configError(join(dp, 'fixed_delay'), 'required field is missing');
    delayFraction = fractionOf(optObject(delay, 'percentage', dp), join(dp, 'percentage'));
  }
  const abort = optObject(json, 'abort', path);
  let abortStatus: number | undefined;
  let abortGrpcStatus: number | undefined;
  let abortFraction = 0;
  if (abort) {
    const ap = join(path, 'abort');
    assertKnownFields(abort, ['http_status', 'grpc_status', 'percentage'], ap);
    abortStatus = optNumber(abort, 'http_status', ap, { min: 200, max: 599, integer: true });
    abortGrpcStatus = optNumber(abort, 'grpc_status', ap, { min: 0, max: 16, integer: true });
    if (abortStatus === undefined && abortGrpcStatus === undefined) throw configError(ap, 'needs http_status or grpc_status');
    abortFraction = fractionOf(optObject(abort, 'percentage', ap), join(ap, 'percentage'));
  }
  return {
    delayMs,
    delayFraction,
    abortStatus,
    abortGrpcStatus,
    abortFraction,
    headers: optArray(json, 'headers', path).map((h, i) => compileHeaderMatcher(h, join(join(path, 'headers'), i))),
    maxActiveFaults: optNumber(json, 'max_active_faults', path, { min: 0, integer: true }) ?? Infinity,
  };
}

class FaultFilter implements HttpFilter {
  private active = 0;
  constructor(
    readonly name: string,
    private readonly config: FaultConfig,
  ) {}

  decodeHeaders(s: ActiveStream): FilterStatus {
    const route = s.route;
    let cfg = this.config;
    const perRoute = route ? perRouteConfig(route, this.name) : undefined;
    if (perRoute === null) return FilterStatus.Continue;
    if (perRoute) cfg = perRoute as FaultConfig;
    for (const h of cfg.headers) if (!h(s)) return FilterStatus.Continue;
    if (this.active >= cfg.maxActiveFaults) return FilterStatus.Continue;
    const abort = cfg.abortFraction > 0 && Math.random() < cfg.abortFraction;
    const delay = cfg.delayMs !== undefined && cfg.delayFraction > 0 && Math.random() < cfg.delayFraction;
    if (!abort && !delay) return FilterStatus.Continue;
    this.active++;
    if (delay) {
      addFlag(s.info, 'DI');
      s.addTimer(setTimeout(afterDelay, cfg.delayMs, this, s, abort ? cfg : undefined));
      return FilterStatus.StopIteration;
    }
    this.abort(s, cfg);
    return FilterStatus.StopIteration;
  }

  abort(s: ActiveStream, cfg: FaultConfig): void {
    this.active--;
    if (cfg.abortGrpcStatus !== undefined && s.grpc) s.sendLocalReply(200, BODY_FAULT_ABORT, 'FI', 'fault_filter_abort', cfg.abortGrpcStatus);
    else s.sendLocalReply(cfg.abortStatus ?? 503, BODY_FAULT_ABORT, 'FI', 'fault_filter_abort');
  }

  delayDone(s: ActiveStream, abortCfg: FaultConfig | undefined): void {
    if (abortCfg) return this.abort(s, abortCfg);
    this.active--;
    s.continueDecoding();
  }
}

function afterDelay(f: FaultFilter, s: ActiveStream, abortCfg: FaultConfig | undefined): void {
  f.delayDone(s, abortCfg);
}

registerHttpFilter(FAULT_TYPE, (json, _ctx, path, name) => new FaultFilter(name, compileFaultConfig(json, path)));
registerPerRouteConfig(FAULT_TYPE, compileFaultConfig);
