/** The Location of a route's redirect action, from the request as received (Envoy's rules). */
import type { ActiveStream } from './active-stream.js';
import type { Redirect, Route } from './route-config.js';

export function buildRedirectLocation(r: Redirect, s: ActiveStream, route: Route): string {
  const scheme = r.scheme ?? s.scheme;
  const authority = s.info.authority ?? s.host;
  let host = authority;
  let port = '';
  const c = authority.lastIndexOf(':');
  if (c > 0 && !authority.endsWith(']')) {
    host = authority.slice(0, c);
    port = authority.slice(c);
  }
  if (r.host !== undefined) {
    host = r.host;
    if (r.host.includes(':')) port = '';
  }
  if (r.port !== undefined) port = r.port === 0 ? '' : ':' + r.port;
  // A scheme change drops the port unless one was given, and default ports are never written.
  else if (r.scheme !== undefined && r.scheme !== s.scheme) port = '';
  if ((scheme === 'http' && port === ':80') || (scheme === 'https' && port === ':443')) port = '';
  const full = s.path;
  const q = full.indexOf('?');
  let path = q < 0 ? full : full.slice(0, q);
  let query = q < 0 ? '' : full.slice(q);
  if (r.path !== undefined) {
    const rq = r.path.indexOf('?');
    path = r.path;
    if (rq >= 0) {
      query = r.path.slice(rq);
      path = r.path.slice(0, rq);
    }
  } else if (r.prefixRewrite !== undefined && route.matchedPrefix !== undefined) {
    path = r.prefixRewrite + path.slice(route.matchedPrefix.length);
  } else if (r.regexRewrite) {
    r.regexRewrite.re.lastIndex = 0;
    path = path.replace(r.regexRewrite.re, r.regexRewrite.substitution);
  }
  if (r.stripQuery) query = '';
  return `${scheme}://${host}${port}${path}${query}`;
}
