/** Bookinfo's ratings service: two reviewers' stars for a book. */
import http from 'node:http';
import { announce, listenPort, podName, sendJson } from '../../lib/http-client.js';

const version = process.env.SERVICE_VERSION ?? 'v1';

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://ratings');
  if (url.pathname === '/health') return sendJson(res, 200, { status: 'Ratings is healthy' });
  const m = /^\/ratings\/(\d+)$/.exec(url.pathname);
  if (!m) return sendJson(res, 400, { error: 'please provide numeric product ID' });
  res.setHeader('x-sample-pod', podName());
  sendJson(res, 200, { id: Number(m[1]), ratings: { Reviewer1: 5, Reviewer2: 4 } });
});
server.listen(listenPort(9080), () => announce(server, `ratings ${version}`));
