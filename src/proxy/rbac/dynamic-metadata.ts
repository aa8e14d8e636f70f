/**
 * Per-stream dynamic metadata (Envoy's StreamInfo dynamic metadata by filter namespace), kept in
 * StreamInfo.filterState so that jwt_authn can hand `istio_authn` to RBAC without a new field on the
 * shared stream contract.
 */
import type { StreamInfo } from '../stream-info.js';
import type { DynamicMetadata } from './subject.js';

const KEY = 'envoy.dynamic_metadata';

export function readMetadata(info: StreamInfo): DynamicMetadata | undefined {
  return info.filterState?.[KEY] as DynamicMetadata | undefined;
}

/** Sets (replaces) one namespace of the stream's dynamic metadata. */
export function setMetadata(info: StreamInfo, namespace: string, value: Record<string, unknown>): void {
  const state = (info.filterState ??= {});
  const md = (state[KEY] ??= {}) as Record<string, unknown>;
  md[namespace] = value;
}
