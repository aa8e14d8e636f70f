/**
 * Istio StringMatch (`exact` | `prefix` | `regex`) → Envoy StringMatcher / HeaderMatcher. Regexes are
 * RE2 in Istio and Envoy alike; they are checked when the config is validated, not here.
 */
import { SailfinError } from '../../common/errors.js';
import type { JsonObject } from '../../proxy/config/fields.js';

export type IstioStringMatch = { exact?: string; prefix?: string; regex?: string };

export function stringMatcher(match: IstioStringMatch, field: string, ignoreCase = false): JsonObject {
  const kinds = (['exact', 'prefix', 'regex'] as const).filter((k) => match[k] !== undefined);
  if (kinds.length !== 1) {
    throw new SailfinError('schema', `a string match needs exactly one of exact, prefix or regex (got ${kinds.join(', ') || 'none'})`, { field });
  }
  const out: JsonObject =
    kinds[0] === 'regex' ? { safe_regex: { regex: match.regex! } } : kinds[0] === 'exact' ? { exact: match.exact! } : { prefix: match.prefix! };
  if (ignoreCase && kinds[0] !== 'regex') out.ignore_case = true;
  return out;
}

/**
 * A header condition. Istio treats a match with no value kind (`end-user: {}`) and `prefix: ""` as
 * "the header is present", which Envoy spells present_match.
 */
export function headerMatcher(name: string, match: IstioStringMatch | null | undefined, invert: boolean, field: string): JsonObject {
  const lower = name.toLowerCase();
  const empty = !match || Object.keys(match).length === 0 || match.prefix === '';
  const out: JsonObject = empty ? { name: lower, present_match: true } : { name: lower, string_match: stringMatcher(match, field) };
  if (invert) out.invert_match = true;
  return out;
}
