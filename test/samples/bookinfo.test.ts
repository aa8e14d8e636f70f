import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { get, startSample, type RunningSample } from './run-sample.js';

const running: RunningSample[] = [];
async function app(name: string, env: Record<string, string> = {}): Promise<RunningSample> {
  const s = await startSample(name, [], env);
  running.push(s);
  return s;
}

/** A stand-in reviews service that records the headers productpage sends and fails on demand. */
function fakeReviews(failFirst: number): Promise<{ server: http.Server; port: number; seen: http.IncomingHttpHeaders[] }> {
  const seen: http.IncomingHttpHeaders[] = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    calls++;
    if (calls <= failFirst) {
      res.writeHead(500);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ podname: 'fake', reviews: [{ reviewer: 'Reviewer1', text: 'fake review' }] }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, seen })));
}

describe('bookinfo sample apps', () => {
  let ratings: RunningSample;
  let details: RunningSample;
  before(async () => {
    ratings = await app('bookinfo-ratings');
    details = await app('bookinfo-details');
  });
  after(async () => {
    await Promise.all(running.map((r) => r.stop()));
  });

  const reviewsEnv = (version: string) => ({ SERVICE_VERSION: version, RATINGS_HOSTNAME: '127.0.0.1', RATINGS_SERVICE_PORT: String(ratings.ports[0]) });

  it('reviews v1 has no ratings, v2 black stars, v3 red stars', async () => {
    const v1 = await app('bookinfo-reviews', reviewsEnv('v1'));
    const v2 = await app('bookinfo-reviews', reviewsEnv('v2'));
    const v3 = await app('bookinfo-reviews', reviewsEnv('v3'));
    const r1 = JSON.parse((await get(`http://127.0.0.1:${v1.ports[0]}/reviews/0`)).body);
    const r2 = JSON.parse((await get(`http://127.0.0.1:${v2.ports[0]}/reviews/0`)).body);
    const r3 = JSON.parse((await get(`http://127.0.0.1:${v3.ports[0]}/reviews/0`)).body);
    assert.equal(r1.reviews[0].rating, undefined);
    assert.deepEqual(r2.reviews[0].rating, { stars: 5, color: 'black' });
    assert.deepEqual(r3.reviews[1].rating, { stars: 4, color: 'red' });
  });

  it('productpage renders the title, details and red stars from reviews v3', async () => {
    const v3 = await app('bookinfo-reviews', reviewsEnv('v3'));
    const page = await app('bookinfo-productpage', {
      DETAILS_HOSTNAME: '127.0.0.1',
      DETAILS_SERVICE_PORT: String(details.ports[0]),
      REVIEWS_HOSTNAME: '127.0.0.1',
      REVIEWS_SERVICE_PORT: String(v3.ports[0]),
    });
    const res = await get(`http://127.0.0.1:${page.ports[0]}/productpage`);
    assert.equal(res.status, 200);
    assert.match(res.body, /<title>Simple Bookstore App<\/title>/);
    assert.match(res.body, /PublisherA/);
    assert.match(res.body, /color: red/);
    assert.doesNotMatch(res.body, /Error fetching/);
  });

  it('reviews shows "Ratings service is currently unavailable" when ratings is down', async () => {
    const v2 = await app('bookinfo-reviews', { SERVICE_VERSION: 'v2', RATINGS_HOSTNAME: '127.0.0.1', RATINGS_SERVICE_PORT: '1' });
    const body = JSON.parse((await get(`http://127.0.0.1:${v2.ports[0]}/reviews/0`)).body);
    assert.equal(body.reviews[0].rating.error, 'Ratings service is currently unavailable');
  });

  it('productpage sends end-user after login and retries reviews once', async () => {
    const fake = await fakeReviews(1);
    try {
      const page = await app('bookinfo-productpage', {
        DETAILS_HOSTNAME: '127.0.0.1',
        DETAILS_SERVICE_PORT: String(details.ports[0]),
        REVIEWS_HOSTNAME: '127.0.0.1',
        REVIEWS_SERVICE_PORT: String(fake.port),
      });
      const login = await fetch(`http://127.0.0.1:${page.ports[0]}/login`, {
        method: 'POST',
        body: 'username=jason&passwd=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        redirect: 'manual',
      });
      assert.equal(login.status, 302);
      const cookie = login.headers.get('set-cookie')!.split(';')[0];
      const res = await get(`http://127.0.0.1:${page.ports[0]}/productpage`, { cookie, 'x-request-id': 'abc' });
      assert.match(res.body, /fake review/);
      assert.equal(fake.seen.length, 2, 'one failed attempt and one retry');
      assert.equal(fake.seen[1]['end-user'], 'jason');
      assert.equal(fake.seen[1]['x-request-id'], 'abc');
    } finally {
      fake.server.close();
    }
  });

  it('productpage shows the reviews error text when both attempts fail', async () => {
    const fake = await fakeReviews(100);
    try {
      const page = await app('bookinfo-productpage', {
        DETAILS_HOSTNAME: '127.0.0.1',
        DETAILS_SERVICE_PORT: '1',
        REVIEWS_HOSTNAME: '127.0.0.1',
        REVIEWS_SERVICE_PORT: String(fake.port),
      });
      const res = await get(`http://127.0.0.1:${page.ports[0]}/productpage`);
      assert.match(res.body, /Error fetching product reviews!/);
      assert.match(res.body, /Sorry, product reviews are currently unavailable for this book\./);
      assert.match(res.body, /Error fetching product details/);
    } finally {
      fake.server.close();
    }
  });
});
