/**
 * Istio HTTPRetry → Envoy RetryPolicy, including Istio's default policy for routes that set none:
 * two attempts on connect-failure, refused-stream, unavailable, cancelled and retriable status codes
 * (503 is no longer in that default), avoiding hosts already tried.
 */
import { SailfinError } from '../../common/errors.js';
import type { JsonObject } from '../../proxy/config/fields.js';
import { istioToProtoDuration } from '../duration.js';

export interface HttpRetry {
  attempts?: number;
  perTryTimeout?: string;
  retryOn?: string;
  retryRemoteLocalities?: boolean;
  retryIgnorePreviousHosts?: boolean;
  backoff?: string;
}

const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';
const DEFAULT_ATTEMPTS = 2;

function previousHostsPredicate(): JsonObject[] {
  return [
    {
      name: 'envoy.retry_host_predicates.previous_hosts',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
    },
  ];
}

/**
 * `consistentHash` clusters keep a request on its host, so retries must not be steered away from it:
 * Istio leaves the previous-hosts predicate out for them, and so do we.
 */
export function retryPolicy(retry: HttpRetry | undefined, field: string, consistentHash = false): JsonObject | undefined {
  if (retry && retry.attempts === 0) return undefined;
  const policy: JsonObject = {
    retry_on: DEFAULT_RETRY_ON,
    num_retries: DEFAULT_ATTEMPTS,
    host_selection_retry_max_attempts: '5',
  };
  if (!consistentHash && retry?.retryIgnorePreviousHosts !== false) policy.retry_host_predicate = previousHostsPredicate();
  if (!retry) return policy;
  if (retry.attempts !== undefined) {
    if (!Number.isInteger(retry.attempts) || retry.attempts < 0) {
      throw new SailfinError('schema', `attempts must be a non-negative integer, got ${JSON.stringify(retry.attempts)}`, { field: `${field}.attempts` });
    }
    policy.num_retries = retry.attempts;
  }
  if (retry.perTryTimeout !== undefined) policy.per_try_timeout = istioToProtoDuration(retry.perTryTimeout, `${field}.perTryTimeout`);
  if (retry.retryOn !== undefined) {
    const policies: string[] = [];
    const codes: number[] = [];
    for (const raw of retry.retryOn.split(',')) {
      const item = raw.trim();
      if (!item) continue;
      // Integers in retryOn are status codes; Istio turns them into retriable_status_codes.
      if (/^\d+$/.test(item)) {
        const code = Number(item);
        if (code < 100 || code > 599) throw new SailfinError('schema', `retryOn status code ${item} is not an HTTP status`, { field: `${field}.retryOn` });
        codes.push(code);
      } else policies.push(item);
    }
    if (codes.length) {
      policy.retriable_status_codes = codes;
      if (!policies.includes('retriable-status-codes')) policies.push('retriable-status-codes');
    }
    policy.retry_on = policies.join(',');
  }
  if (retry.backoff !== undefined) policy.retry_back_off = { base_interval: istioToProtoDuration(retry.backoff, `${field}.backoff`) };
  if (retry.retryRemoteLocalities) {
    policy.retry_priority = {
      name: 'envoy.retry_priorities.previous_priorities',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig', update_frequency: 2 },
    };
  }
  return policy;
}
