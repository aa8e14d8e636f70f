/**
 * A host picker chooses among the usable hosts of one priority level (or one locality of it). The
 * priority balancer builds pickers when membership or health changes; picking is the per-request
 * part and allocates nothing.
 */
import type { LbContext } from '../api.js';
import type { HostImpl } from '../host.js';

export interface HostPicker {
  /** `attempt` > 0 when the previous choice was rejected (retry previous_hosts predicate). */
  pick(ctx: LbContext | undefined, attempt: number): HostImpl | null;
}

export function allWeightsEqual(weights: readonly number[]): boolean {
  for (let i = 1; i < weights.length; i++) if (weights[i] !== weights[0]) return false;
  return true;
}
