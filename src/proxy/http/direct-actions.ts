/** Routes answered by the proxy itself, with no upstream: direct_response and redirect. */
import type { ActiveStream } from './active-stream.js';
import { HeaderList } from './headers.js';
import { buildRedirectLocation } from './redirect.js';

type MatchedRoute = NonNullable<ActiveStream['route']>;

/** Sends the reply and returns true when the route is a direct response or a redirect. */
export function answerWithoutUpstream(s: ActiveStream, route: MatchedRoute): boolean {
  const hcm = s.hcm;
  if (route.directResponse) {
    hcm.stats.rq_direct_response.inc();
    const dr = route.directResponse;
    const h = new HeaderList();
    if (dr.body) h.add('content-type', 'text/plain');
    h.add('content-length', String(dr.body ? dr.body.length : 0));
    s.info.responseCodeDetails = 'direct_response';
    s.encodeHeaders(dr.status, h, !dr.body || s.method === 'HEAD', true);
    if (dr.body && s.method !== 'HEAD') s.encodeData(dr.body, true);
    return true;
  }
  if (route.redirect) {
    hcm.stats.rq_redirect.inc();
    const h = new HeaderList(['location', buildRedirectLocation(route.redirect, s, route), 'content-length', '0']);
    s.info.responseCodeDetails = 'direct_response';
    s.encodeHeaders(route.redirect.status, h, true, true);
    return true;
  }
  return false;
}
