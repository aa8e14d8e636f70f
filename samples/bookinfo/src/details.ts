/** Bookinfo's details service: one book's publication facts, the way the Istio sample shapes them. */
import http from 'node:http';
import { announce, listenPort, podName, sendJson } from '../../lib/http-client.js';

const version = process.env.SERVICE_VERSION ?? 'v1';

export function bookDetails(id: number): Record<string, unknown> {
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  };
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://details');
  const m = /^\/details\/(\d+)$/.exec(url.pathname);
  if (url.pathname === '/health') return sendJson(res, 200, { status: 'Details is healthy' });
  if (!m) return sendJson(res, 404, { error: 'please provide numeric product id' });
  res.setHeader('x-sample-pod', podName());
  res.setHeader('x-sample-version', version);
  sendJson(res, 200, bookDetails(Number(m[1])));
});
server.listen(listenPort(9080), () => announce(server, `details ${version}`));
