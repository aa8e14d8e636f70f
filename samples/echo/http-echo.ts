/**
 * The httpbin-like part of the echo sample: enough of httpbin's API for Istio's tasks
 * (/headers, /status/N, /delay/N, /ip, /get, /post, /anything), plus who answered (pod and
 * version) so routing tests can tell backends apart, and one access-log line per request so the
 * mirroring task can see that a shadow copy arrived.
 */
import http from 'node:http';

export interface EchoIdentity {
  pod: string;
  version: string;
}

const MAX_DELAY_S = 10;

function headerObject(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('-');
    out[name] = out[name] ? `${out[name]},${req.rawHeaders[i + 1]}` : req.rawHeaders[i + 1];
  }
  return out;
}

function clientIp(req: http.IncomingMessage): string {
  const addr = req.socket.remoteAddress ?? '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

function reply(res: http.ServerResponse, id: EchoIdentity, status: number, value: unknown): void {
  const body = JSON.stringify(value, null, 2) + '\n';
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-echo-pod': id.pod,
    'x-echo-version': id.version,
  });
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Bodies are echoed back as JSON, so keep at most 1 MiB; count the rest.
      if (size <= 1 << 20) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function route(req: http.IncomingMessage, res: http.ServerResponse, id: EchoIdentity): Promise<void> {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'echo'}`);
  const path = url.pathname;
  const base = { headers: headerObject(req), origin: clientIp(req), pod: id.pod, version: id.version };
  if (path === '/headers') return reply(res, id, 200, { headers: base.headers, pod: id.pod, version: id.version });
  if (path === '/ip') return reply(res, id, 200, { origin: base.origin });
  if (path === '/hello') {
    const text = `Hello version: ${id.version}, instance: ${id.pod}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'x-echo-pod': id.pod, 'x-echo-version': id.version });
    res.end(text);
    return;
  }
  const status = /^\/status\/(\d{3})$/.exec(path);
  if (status) {
    const code = Number(status[1]);
    if (code === 418) {
      res.writeHead(418, { 'x-more-info': 'http://tools.ietf.org/html/rfc2324', 'x-echo-pod': id.pod });
      res.end('\n    -=[ teapot ]=-\n');
      return;
    }
    res.writeHead(code, { 'x-echo-pod': id.pod, 'x-echo-version': id.version, 'content-length': 0 });
    res.end();
    return;
  }
  const delay = /^\/delay\/(\d+(?:\.\d+)?)$/.exec(path);
  if (delay) {
    const seconds = Math.min(Number(delay[1]), MAX_DELAY_S);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    return reply(res, id, 200, { ...base, url: url.href });
  }
  if (path === '/get' || path === '/post' || path === '/anything' || path.startsWith('/anything/')) {
    const body = await readBody(req);
    return reply(res, id, 200, {
      ...base,
      method: req.method,
      args: Object.fromEntries(url.searchParams),
      url: url.href,
      data: body.toString('utf8'),
      bodyBytes: body.length,
    });
  }
  if (path === '/' ) return reply(res, id, 200, { ...base, url: url.href });
  reply(res, id, 404, { error: 'not found', path });
}

export function startHttpEcho(port: number, id: EchoIdentity): http.Server {
  const server = http.createServer((req, res) => {
    const started = Date.now();
    res.on('finish', () => {
      console.log(`${clientIp(req)} "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} host=${req.headers.host ?? '-'} ${Date.now() - started}ms`);
    });
    route(req, res, id).catch((err: unknown) => {
      if (!res.headersSent) reply(res, id, 500, { error: String(err) });
      else res.destroy();
    });
  });
  server.listen(port, () => console.log(`echo ${id.version} (${id.pod}) http listening on ${(server.address() as { port: number }).port}`));
  return server;
}
