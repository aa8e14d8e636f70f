/**
 * Subject-alternative-name checks of a validation context (`match_subject_alt_names`,
 * `match_typed_subject_alt_names`), compiled once and run after the handshake.
 */
import type { PeerCertificate } from 'node:tls';
import { configError, isObject, type JsonObject } from '../config/fields.js';

type StringTest = (s: string) => boolean;

export function compileStringMatcher(m: unknown, path: string): StringTest {
  if (!isObject(m)) throw configError(path, 'must be a string matcher object');
  const ignoreCase = m.ignore_case === true;
  const norm = (s: string): string => (ignoreCase ? s.toLowerCase() : s);
  const val = (k: string): string => norm(String(m[k]));
  if (typeof m.exact === 'string') { const v = val('exact'); return (s) => norm(s) === v; }
  if (typeof m.prefix === 'string') { const v = val('prefix'); return (s) => norm(s).startsWith(v); }
  if (typeof m.suffix === 'string') { const v = val('suffix'); return (s) => norm(s).endsWith(v); }
  if (typeof m.contains === 'string') { const v = val('contains'); return (s) => norm(s).includes(v); }
  if (isObject(m.safe_regex) && typeof m.safe_regex.regex === 'string') {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${m.safe_regex.regex})$`, ignoreCase ? 'i' : '');
    } catch (err) {
      throw configError(`${path}.safe_regex.regex`, `invalid regex: ${(err as Error).message}`);
    }
    return (s) => re.test(s);
  }
  throw configError(path, 'needs one of exact, prefix, suffix, contains, safe_regex');
}

/** The SANs of a certificate by type: 'URI', 'DNS', 'IP Address', 'email'. */
export function subjectAltNames(cert: PeerCertificate | undefined): Array<{ type: string; value: string }> {
  const raw = cert?.subjectaltname;
  if (!raw) return [];
  return raw.split(', ').map((entry) => {
    const i = entry.indexOf(':');
    return { type: entry.slice(0, i), value: entry.slice(i + 1) };
  });
}

const SAN_TYPES: Record<string, string> = { URI: 'URI', DNS: 'DNS', IP_ADDRESS: 'IP Address', EMAIL: 'email' };

/** A predicate on the peer certificate, or undefined when nothing is required. */
export function compileSanMatchers(list: readonly unknown[] | undefined, path: string): ((cert: PeerCertificate | undefined) => boolean) | undefined {
  if (!list || list.length === 0) return undefined;
  const tests = list.map((entry, i) => {
    const e = entry as JsonObject;
    const type = typeof e.san_type === 'string' ? SAN_TYPES[e.san_type] : undefined;
    if (e.san_type !== undefined && !type) throw configError(`${path}[${i}].san_type`, `unsupported value ${JSON.stringify(e.san_type)}`);
    const test = compileStringMatcher(e.matcher, `${path}[${i}].matcher`);
    return { type, test };
  });
  return (cert) => {
    const sans = subjectAltNames(cert);
    return tests.some((t) => sans.some((s) => (t.type === undefined || s.type === t.type) && t.test(s.value)));
  };
}

export function firstUriSan(cert: PeerCertificate | undefined): string | undefined {
  return subjectAltNames(cert).find((s) => s.type === 'URI')?.value;
}
