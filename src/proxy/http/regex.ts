/**
 * Envoy's safe_regex (RE2, whole-string match) compiled once per config through the shared RE2
 * translator, with errors re-labelled with the config path.
 */
import { SailfinError } from '../../common/errors.js';
import { compileRe2 } from '../../config/re2.js';
import { configError } from '../config/fields.js';

export function compileSafeRegex(pattern: string, path: string): RegExp {
  try {
    return compileRe2(pattern);
  } catch (err) {
    if (err instanceof SailfinError) throw configError(path, err.message);
    throw err;
  }
}

/** For regex_rewrite: the same translation unanchored and global, so every match is substituted. */
export function compileRewriteRegex(pattern: string, path: string): RegExp {
  const anchored = compileSafeRegex(pattern, path);
  return new RegExp(anchored.source.slice(4, -2), anchored.flags.includes('g') ? anchored.flags : anchored.flags + 'g');
}

/** RE2/Envoy substitutions use \1 for groups; JavaScript uses $1 (and $ must be escaped). */
export function toJsSubstitution(sub: string): string {
  return sub.replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1');
}
