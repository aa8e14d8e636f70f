/**
 * The peer proxies and the shared backend, each configured like for like: one worker/thread,
 * HTTP/1.1 keep-alive to the backend, access logs off, the same small response.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startProcess, waitForPort } from './processes.js';

export const SMALL_BODY = 'hello from the backend\n';

/** The backend every proxy forwards to: nginx with two workers serving a fixed small body and a 1 MB file. */
export async function startBackend(nginx: string, dir: string, port: number): Promise<ChildProcess> {
  const root = join(dir, 'backend-root');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'big'), Buffer.alloc(1 << 20, 'b'));
  const conf = join(dir, 'backend.conf');
  writeFileSync(
    conf,
    `daemon off; worker_processes 2; pid ${dir}/backend.pid; error_log ${dir}/backend-error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/pt; fastcgi_temp_path ${dir}/ft; uwsgi_temp_path ${dir}/ut; scgi_temp_path ${dir}/st;
  server { listen 127.0.0.1:${port}; root ${root};
    location = / { return 200 '${SMALL_BODY.trim()}\\n'; }
    location = /echo { client_max_body_size 10m; return 200 '${SMALL_BODY.trim()}\\n'; }
  }
}
`,
  );
  const p = startProcess(nginx, ['-c', conf, '-p', dir], { name: 'backend nginx' });
  await waitForPort(port);
  return p;
}

export async function startNginxProxy(nginx: string, dir: string, port: number, backendPort: number, workers: number): Promise<ChildProcess> {
  const d = join(dir, `nginx-proxy-${workers}`);
  mkdirSync(d, { recursive: true });
  const conf = join(d, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off; worker_processes ${workers}; pid ${d}/nginx.pid; error_log ${d}/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path ${d}/cb; proxy_temp_path ${d}/pt; fastcgi_temp_path ${d}/ft; uwsgi_temp_path ${d}/ut; scgi_temp_path ${d}/st;
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 128; }
  server { listen 127.0.0.1:${port};
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
  );
  const p = startProcess(nginx, ['-c', conf, '-p', d], { name: 'nginx proxy' });
  await waitForPort(port);
  return p;
}

export async function startHaproxy(haproxy: string, dir: string, port: number, backendPort: number, mode: 'http' | 'tcp', threads: number): Promise<ChildProcess> {
  const conf = join(dir, `haproxy-${mode}-${threads}.cfg`);
  writeFileSync(
    conf,
    `global
  nbthread ${threads}
  maxconn 4000
defaults
  mode ${mode}
  timeout connect 5s
  timeout client 60s
  timeout server 60s
${mode === 'http' ? '  option http-keep-alive\n  http-reuse always\n' : ''}frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server b1 127.0.0.1:${backendPort}
`,
  );
  const p = startProcess(haproxy, ['-f', conf, '-db'], { name: `haproxy ${mode}` });
  await waitForPort(port);
  return p;
}

/** node-http-proxy with a keep-alive agent: the usual way a Node.js user builds a proxy. */
export async function startNodeHttpProxy(dir: string, port: number, backendPort: number): Promise<ChildProcess> {
  const script = join(dir, 'node-http-proxy.cjs');
  writeFileSync(
    script,
    `const http = require('http');
const httpProxy = require(${JSON.stringify(require_resolve('http-proxy'))});
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: 'http://127.0.0.1:${backendPort}', agent });
proxy.on('error', (e, req, res) => { res.writeHead(502); res.end(); });
http.createServer((req, res) => proxy.web(req, res)).listen(${port}, '127.0.0.1');
`,
  );
  const p = startProcess(process.execPath, [script], { name: 'node-http-proxy' });
  await waitForPort(port);
  return p;
}

function require_resolve(name: string): string {
  // Resolved here so the generated script finds the project's copy whatever its working directory.
  return createRequire(import.meta.url).resolve(name);
}

/**
 * The least any Node.js proxy built on net.Socket can spend per request: bytes copied between one
 * downstream and one upstream connection with no HTTP parsing, routing or pooling. Shows how much of
 * Sailfin's cost per request is Node's socket and stream machinery rather than Sailfin's own code.
 */
export async function startNodeFloor(dir: string, port: number, backendPort: number): Promise<ChildProcess> {
  const script = join(dir, 'node-floor.cjs');
  writeFileSync(
    script,
    `const net = require('net');
net.createServer({ noDelay: true }, (down) => {
  const up = net.connect({ port: ${backendPort}, host: '127.0.0.1', noDelay: true });
  up.on('data', (d) => down.write(d));
  down.on('data', (d) => up.write(d));
  up.on('error', () => down.destroy()); down.on('error', () => up.destroy());
  up.on('close', () => down.destroy()); down.on('close', () => up.destroy());
}).listen(${port}, '127.0.0.1');
`,
  );
  const p = startProcess(process.execPath, [script], { name: 'node floor' });
  await waitForPort(port);
  return p;
}
