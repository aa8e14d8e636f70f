/**
 * Bookinfo's reviews service. Its three versions differ only by environment, as Istio's do:
 * v1 never calls ratings; v2 shows black stars (10 s timeout to ratings); v3 red stars (2.5 s).
 * Those timeouts are what make the fault-injection and request-timeout tasks come out as documented.
 */
import http from 'node:http';
import { announce, httpGet, listenPort, podName, propagate, sendJson } from '../../lib/http-client.js';

const version = process.env.SERVICE_VERSION ?? 'v1';
const enableRatings = (process.env.ENABLE_RATINGS ?? (version === 'v1' ? 'false' : 'true')) === 'true';
const starColor = process.env.STAR_COLOR ?? (version === 'v3' ? 'red' : 'black');
const ratingsTimeoutMs = version === 'v3' ? 2500 : 10_000;
const ratingsHost = process.env.RATINGS_HOSTNAME ?? 'ratings';
const ratingsPort = process.env.RATINGS_SERVICE_PORT ?? '9080';

const REVIEWS = [
  { reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!' },
  { reviewer: 'Reviewer2', text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.' },
];

async function reviewsFor(id: number, inbound: http.IncomingHttpHeaders): Promise<Record<string, unknown>> {
  let ratings: Record<string, number> | undefined;
  let ratingsError: string | undefined;
  if (enableRatings) {
    try {
      const r = await httpGet(`http://${ratingsHost}:${ratingsPort}/ratings/${id}`, propagate(inbound), ratingsTimeoutMs);
      if (r.status === 200) ratings = (JSON.parse(r.body) as { ratings: Record<string, number> }).ratings;
      else ratingsError = 'Ratings service is currently unavailable';
    } catch {
      ratingsError = 'Ratings service is currently unavailable';
    }
  }
  const reviews = REVIEWS.map((r) => {
    if (!enableRatings) return { ...r };
    if (ratingsError) return { ...r, rating: { error: ratingsError } };
    return { ...r, rating: { stars: ratings?.[r.reviewer] ?? 0, color: starColor } };
  });
  return { id: String(id), podname: podName(), clustername: 'null', version, reviews };
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://reviews');
  if (url.pathname === '/health') return sendJson(res, 200, { status: 'Reviews is healthy' });
  const m = /^\/reviews\/(\d+)$/.exec(url.pathname);
  if (!m) return sendJson(res, 404, { error: 'not found' });
  reviewsFor(Number(m[1]), req.headers).then(
    (body) => sendJson(res, 200, body),
    (err: unknown) => sendJson(res, 500, { error: String(err) }),
  );
});
server.listen(listenPort(9080), () => announce(server, `reviews ${version}`));
