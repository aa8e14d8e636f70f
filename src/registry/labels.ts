/**
 * Label maps as the registry reads them: tolerant coercion of manifest values (a label map with a
 * non-string value is a schema error reported elsewhere; here it is simply skipped) and selector matching.
 */
import { isPlainObject } from '../config/documents.js';

export type Labels = Readonly<Record<string, string>>;

export function stringMap(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Kubernetes equality-based selection: every pair of `selector` is present in `labels`. An empty selector
 * matches everything here; callers decide whether "no selector" means "select nothing" (a Service) or
 * "select everything" (a Sidecar without workloadSelector).
 */
export function matchesSelector(labels: Labels, selector: Labels): boolean {
  for (const key in selector) {
    if (labels[key] !== selector[key]) return false;
  }
  return true;
}

/** Order-independent equality of two label maps. */
export function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}
