/** envoy.filters.http.router: the terminal filter that hands each request to a Router. */
import { assertKnownFields, optBool, type JsonObject } from '../../config/fields.js';
import type { ProxyContext } from '../../context.js';
import type { ActiveStream } from '../active-stream.js';
import { registerHttpFilter } from '../filter-registry.js';
import { FilterStatus, type HttpFilter } from '../http-filter.js';
import { Router, type RouterOptions } from '../router.js';

export const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

class RouterFilter implements HttpFilter {
  readonly terminal = true;
  constructor(
    readonly name: string,
    private readonly ctx: ProxyContext,
    private readonly opts: RouterOptions,
  ) {}

  decodeHeaders(stream: ActiveStream): FilterStatus {
    new Router(stream, this.ctx, this.opts).start();
    return FilterStatus.StopIteration;
  }
}

registerHttpFilter(ROUTER_TYPE, (json: JsonObject, ctx, path, name) => {
  assertKnownFields(json, ['@type', 'dynamic_stats', 'start_child_span', 'suppress_envoy_headers', 'respect_expected_rq_timeout', 'suppress_grpc_request_failure_code_stats'], path);
  return new RouterFilter(name, ctx, { suppressEnvoyHeaders: optBool(json, 'suppress_envoy_headers', path) ?? false });
});
