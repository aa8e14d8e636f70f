/**
 * Bookinfo's product page: the HTML front end that calls details and reviews. It keeps the
 * behaviours Istio's tasks depend on: a login that becomes the `end-user` header on outbound calls,
 * a 3 s timeout with one retry towards reviews, and the exact error texts the tasks show.
 */
import http from 'node:http';
import { announce, httpGet, listenPort, podName, propagate, sendJson, type GetResult } from '../../lib/http-client.js';

const detailsUrl = `http://${process.env.DETAILS_HOSTNAME ?? 'details'}:${process.env.DETAILS_SERVICE_PORT ?? '9080'}`;
const reviewsUrl = `http://${process.env.REVIEWS_HOSTNAME ?? 'reviews'}:${process.env.REVIEWS_SERVICE_PORT ?? '9080'}`;
const CALL_TIMEOUT_MS = 3000;

interface Review {
  reviewer: string;
  text: string;
  rating?: { stars?: number; color?: string; error?: string };
}

function userOf(req: http.IncomingMessage): string | undefined {
  const cookie = req.headers.cookie ?? '';
  const m = /(?:^|;\s*)session=([^;]+)/.exec(cookie);
  return m ? decodeURIComponent(m[1]) : undefined;
}

function outboundHeaders(req: http.IncomingMessage): Record<string, string> {
  const headers = propagate(req.headers);
  delete headers.cookie;
  const user = userOf(req);
  if (user) headers['end-user'] = user;
  return headers;
}

async function fetchDetails(id: number, headers: Record<string, string>): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await httpGet(`${detailsUrl}/details/${id}`, headers, CALL_TIMEOUT_MS);
    return r.status === 200 ? (JSON.parse(r.body) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Two attempts of 3 s each, as the original sample: this is why a 7 s ratings delay shows up as a ~6 s page. */
async function fetchReviews(id: number, headers: Record<string, string>): Promise<{ reviews: Review[]; podname?: string } | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    let r: GetResult;
    try {
      r = await httpGet(`${reviewsUrl}/reviews/${id}`, headers, CALL_TIMEOUT_MS);
    } catch {
      continue;
    }
    if (r.status === 200) return JSON.parse(r.body) as { reviews: Review[]; podname?: string };
  }
  return undefined;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderReview(r: Review): string {
  let rating = '';
  if (r.rating?.error) rating = `<p><font color="red">${escapeHtml(r.rating.error)}</font></p>`;
  else if (r.rating?.stars !== undefined) {
    const color = r.rating.color ?? 'black';
    rating = `<p class="stars" style="color: ${color}"><font color="${color}">${'★'.repeat(r.rating.stars)}${'☆'.repeat(5 - r.rating.stars)}</font></p>`;
  }
  return `<blockquote><p>${escapeHtml(r.text)}</p><small>${escapeHtml(r.reviewer)}</small>${rating}</blockquote>`;
}

function renderPage(user: string | undefined, details: Record<string, unknown> | undefined, reviews: { reviews: Review[]; podname?: string } | undefined): string {
  const login = user
    ? `<p>signed in as ${escapeHtml(user)} <a href="/logout">sign out</a></p>`
    : `<form method="post" action="/login"><input name="username" placeholder="User Name"><input name="passwd" type="password"><button type="submit">Sign in</button></form>`;
  const detailsHtml = details
    ? `<h4>Book Details</h4><dl>${Object.entries(details)
        .filter(([k]) => k !== 'id')
        .map(([k, v]) => `<dt>${escapeHtml(k)}:</dt><dd>${escapeHtml(String(v))}</dd>`)
        .join('')}</dl>`
    : `<h4 class="text-center text-primary">Error fetching product details!</h4><p>Sorry, product details are currently unavailable for this book.</p>`;
  const reviewsHtml = reviews
    ? `<h4>Book Reviews</h4>${reviews.reviews.map(renderReview).join('')}<dl><dt>Reviews served by:</dt><dd><u>${escapeHtml(reviews.podname ?? '')}</u></dd></dl>`
    : `<h4 class="text-center text-primary">Error fetching product reviews!</h4><p>Sorry, product reviews are currently unavailable for this book.</p>`;
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Simple Bookstore App</title></head>
<body><nav>BookInfo Sample ${login}</nav>
<h3>The Comedy of Errors</h3>
<p>Wikipedia Summary: The Comedy of Errors is one of William Shakespeare's early plays.</p>
<div class="details">${detailsHtml}</div>
<div class="reviews">${reviewsHtml}</div>
<footer>served by ${escapeHtml(podName())}</footer>
</body></html>
`;
}

function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
      if (body.length > 64 * 1024) req.destroy(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://productpage');
  const path = url.pathname;
  if (path === '/health') return sendJson(res, 200, { status: 'Product page is healthy' });
  if (path === '/' ) {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><head><title>Simple Bookstore App</title></head><body><a href="/productpage?u=normal">Normal user</a></body></html>');
    return;
  }
  if (path === '/login' && req.method === 'POST') {
    const form = await readForm(req);
    const user = form.get('username') ?? '';
    res.writeHead(302, { location: '/productpage', 'set-cookie': `session=${encodeURIComponent(user)}; Path=/` });
    res.end();
    return;
  }
  if (path === '/logout') {
    res.writeHead(302, { location: '/productpage', 'set-cookie': 'session=; Path=/; Max-Age=0' });
    res.end();
    return;
  }
  if (path.startsWith('/static/')) {
    res.writeHead(200, { 'content-type': 'text/css' });
    res.end('body { font-family: sans-serif; }\n');
    return;
  }
  if (path === '/api/v1/products') return sendJson(res, 200, [{ id: 0, title: 'The Comedy of Errors' }]);
  const api = /^\/api\/v1\/products\/(\d+)(\/reviews|\/ratings)?$/.exec(path);
  if (api) {
    const id = Number(api[1]);
    const headers = outboundHeaders(req);
    if (!api[2]) {
      const d = await fetchDetails(id, headers);
      return d ? sendJson(res, 200, d) : sendJson(res, 503, { error: 'Sorry, product details are currently unavailable for this book.' });
    }
    const r = await fetchReviews(id, headers);
    return r ? sendJson(res, 200, r) : sendJson(res, 503, { error: 'Sorry, product reviews are currently unavailable for this book.' });
  }
  if (path === '/productpage') {
    const headers = outboundHeaders(req);
    const [details, reviews] = await Promise.all([fetchDetails(0, headers), fetchReviews(0, headers)]);
    const html = renderPage(userOf(req), details, reviews);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
    res.end(html);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('Not Found\n');
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    if (!res.headersSent) sendJson(res, 500, { error: String(err) });
    else res.destroy();
  });
});
server.listen(listenPort(9080), () => announce(server, 'productpage'));
