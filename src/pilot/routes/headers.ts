/** Istio Headers (`request`/`response` with set, add, remove) → Envoy header mutation fields. */
import type { JsonObject } from '../../proxy/config/fields.js';

export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface IstioHeaders {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

function toAdd(ops: HeaderOperations): JsonObject[] {
  const out: JsonObject[] = [];
  // `set` replaces whatever the request carried; `add` appends another value, as in Istio.
  for (const [key, value] of Object.entries(ops.set ?? {})) out.push({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
  for (const [key, value] of Object.entries(ops.add ?? {})) out.push({ header: { key, value }, append_action: 'APPEND_IF_EXISTS_OR_ADD' });
  return out;
}

/** Writes the Envoy fields into `target` (a Route or a weighted-cluster entry). */
export function applyHeaders(target: JsonObject, headers: IstioHeaders | undefined): void {
  if (!headers) return;
  if (headers.request) {
    const add = toAdd(headers.request);
    if (add.length) target.request_headers_to_add = add;
    if (headers.request.remove?.length) target.request_headers_to_remove = headers.request.remove;
  }
  if (headers.response) {
    const add = toAdd(headers.response);
    if (add.length) target.response_headers_to_add = add;
    if (headers.response.remove?.length) target.response_headers_to_remove = headers.response.remove;
  }
}
