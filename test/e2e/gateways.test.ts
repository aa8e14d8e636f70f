/**
 * Istio's ingress tasks end to end on a real local mesh (see mesh-harness.ts), with curl and
 * openssl s_client on the host against the ingress gateway's exposed ports: plain HTTP ingress, TLS
 * termination (SIMPLE, MUTUAL, two hosts by SNI, live certificate rotation), SNI passthrough, the TCP
 * gateway with weights, httpsRedirect, and a Gateway whose Secret is missing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { genericSecret, hostCurl, makeCa, makeLeaf, serverCert, tlsSecret, type Pki } from './gateway-fixtures.js';
import { Mesh, ROOT, eventually, sailfin, skipReason } from './mesh-harness.js';

const skip = skipReason();

const gateway = (name: string, servers: string) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}}
spec:
  selector: {istio: ingressgateway}
  servers:
${servers}`;

const httpbinVs = (name: string, gw: string, host: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: ["${host}"]
  gateways: [${gw}]
  http:
  - match: [{uri: {prefix: /status}}, {uri: {prefix: /delay}}]
    route: [{destination: {host: httpbin, port: {number: 8000}}}]
`;

/** A backend that serves its own certificate (openssl s_server), for SNI passthrough. */
const nginxLike = (crt: string, key: string) => `apiVersion: v1
kind: Service
metadata: {name: my-nginx, labels: {run: my-nginx}}
spec:
  ports: [{name: https, port: 443, targetPort: 8443}]
  selector: {run: my-nginx}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: my-nginx}
spec:
  selector: {matchLabels: {run: my-nginx}}
  template:
    metadata: {labels: {run: my-nginx}}
    spec:
      containers:
      - name: nginx
        command: [openssl, s_server, -www, -accept, "8443", -cert, ${crt}, -key, ${key}]
`;

/** `kubectl apply` replaces objects by name: in the watched directory that is one file per object. */
function applyEach(mesh: Mesh, yaml: string): void {
  for (const doc of yaml.split(/^---$/m)) {
    const kind = /^kind: (\w+)/m.exec(doc)?.[1];
    const name = /^  name: ([\w-]+)/m.exec(doc)?.[1];
    if (kind && name) mesh.write(`${kind}-${name}.yaml`, doc);
  }
}

/** Count of lines answered "one"/"two" by tcp-echo over `n` fresh connections. */
async function tcpEchoSplit(port: number, n: number): Promise<{ one: number; two: number; failed: number }> {
  const out = { one: 0, two: 0, failed: 0 };
  for (let i = 0; i < n; i++) {
    const reply = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1');
      let data = '';
      const done = () => (s.destroy(), resolve(data));
      s.setTimeout(5000, done);
      s.on('connect', () => s.write(`hello ${i}\n`));
      s.on('data', (d) => {
        data += d.toString();
        if (data.includes('\n')) done();
      });
      s.on('error', done);
      s.on('close', () => resolve(data));
    });
    if (reply.startsWith('one')) out.one++;
    else if (reply.startsWith('two')) out.two++;
    else out.failed++;
  }
  return out;
}

describe('ingress gateways on the local mesh', { skip, timeout: 240_000 }, () => {
  const mesh = new Mesh('sfe2egw', '10.92.0.0/16');
  let http: number;
  let https: number;
  let tcp: number;
  let pki: Pki;
  let httpbinLeaf: { crt: string; key: string };
  const curlHttps = (host: string, path: string, extra: string[] = []) =>
    hostCurl(['--resolve', `${host}:${https}:127.0.0.1`, '--cacert', pki.caCrt, ...extra, `https://${host}:${https}${path}`]);

  before(() => {
    pki = makeCa();
    httpbinLeaf = makeLeaf(pki, 'httpbin.example.com', 1001);
    mesh.add('samples/tasks/ingress/httpbin-gateway.yaml', 'samples/httpbin/httpbin.yaml', 'samples/tcp-echo/tcp-echo-services.yaml');
    mesh.write('secret-httpbin.yaml', tlsSecret('httpbin-credential', httpbinLeaf));
    mesh.write(
      'gw-secure.yaml',
      gateway('mygateway', `  - port: {number: 443, name: https, protocol: HTTPS}\n    tls: {mode: SIMPLE, credentialName: httpbin-credential}\n    hosts: [httpbin.example.com]\n`),
    );
    mesh.write('vs-secure.yaml', httpbinVs('httpbin-secure', 'mygateway', 'httpbin.example.com'));
    applyEach(mesh, readFileSync(join(ROOT, 'samples/tcp-echo/tcp-echo-all-v1.yaml'), 'utf8'));
    mesh.up(['samples/platform']);
    http = mesh.ingressPort(8080);
    https = mesh.ingressPort(8443);
    tcp = mesh.ingressPort(31400);
  });
  after(() => {
    mesh.down();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it('ingress: /status/200 for httpbin.example.com, 404 for other paths and hosts', async () => {
    await eventually('200 through the gateway', () => (hostCurl(['-H', 'Host: httpbin.example.com', `http://127.0.0.1:${http}/status/200`]).code === '200' ? true : undefined), 60_000);
    assert.equal(hostCurl(['-H', 'Host: httpbin.example.com', `http://127.0.0.1:${http}/headers`]).code, '404');
    assert.equal(hostCurl(['-H', 'Host: other.example.com', `http://127.0.0.1:${http}/status/200`]).code, '404');
  });

  it('secure ingress SIMPLE: the credential Secret terminates TLS, curl --cacert verifies it', async () => {
    const r = await eventually('418 over TLS', () => {
      const x = curlHttps('httpbin.example.com', '/status/418');
      return x.code === '418' ? x : undefined;
    }, 30_000);
    assert.equal(r.code, '418');
    assert.match(serverCert(https, 'httpbin.example.com')?.subject ?? '', /httpbin\.example\.com/);
  });

  it('TCP gateway: all to v1, then 80/20 between v1 and v2', async () => {
    await eventually('tcp-echo v1 through 31400', async () => ((await tcpEchoSplit(tcp, 1)).one === 1 ? true : undefined), 30_000);
    applyEach(mesh, readFileSync(join(ROOT, 'samples/tcp-echo/tcp-echo-20-v2.yaml'), 'utf8'));
    await eventually('some v2', async () => ((await tcpEchoSplit(tcp, 5)).two > 0 ? true : undefined), 30_000);
    const split = await tcpEchoSplit(tcp, 50);
    // A connection or two may time out on a loaded machine; the split is judged on the answered ones.
    assert.ok(split.failed <= 3, JSON.stringify(split));
    assert.ok(split.two >= 3 && split.two <= 20 && split.one >= 27, `about 20% v2 expected: ${JSON.stringify(split)}`);
  });

  it('secure ingress MUTUAL: refused without a client certificate, 418 with one', async () => {
    const client = makeLeaf(pki, 'client.example.com', 2001);
    mesh.write('secret-httpbin.yaml', genericSecret('httpbin-credential', httpbinLeaf, pki.caCrt));
    mesh.write(
      'gw-secure.yaml',
      gateway('mygateway', `  - port: {number: 443, name: https, protocol: HTTPS}\n    tls: {mode: MUTUAL, credentialName: httpbin-credential}\n    hosts: [httpbin.example.com]\n`),
    );
    // Wait for the client certificate to be accepted (the new CA is in force), then check refusal without one.
    await eventually('418 with a client cert', () => (curlHttps('httpbin.example.com', '/status/418', ['--cert', client.crt, '--key', client.key]).code === '418' ? true : undefined), 60_000);
    await eventually('no client cert refused', () => (curlHttps('httpbin.example.com', '/status/418').code === '000' ? true : undefined), 30_000);
  });

  it('two hosts on one port, each with its own certificate chosen by SNI; rotation changes new handshakes', async () => {
    const hello = makeLeaf(pki, 'helloworld.example.com', 3001);
    mesh.write('secret-httpbin.yaml', tlsSecret('httpbin-credential', httpbinLeaf));
    mesh.write('secret-hello.yaml', tlsSecret('helloworld-credential', hello));
    mesh.write(
      'gw-secure.yaml',
      gateway(
        'mygateway',
        `  - port: {number: 443, name: https-httpbin, protocol: HTTPS}\n    tls: {mode: SIMPLE, credentialName: httpbin-credential}\n    hosts: [httpbin.example.com]\n` +
          `  - port: {number: 443, name: https-hello, protocol: HTTPS}\n    tls: {mode: SIMPLE, credentialName: helloworld-credential}\n    hosts: [helloworld.example.com]\n`,
      ),
    );
    mesh.write('vs-hello.yaml', httpbinVs('hello-secure', 'mygateway', 'helloworld.example.com'));
    await eventually('helloworld over TLS', () => (curlHttps('helloworld.example.com', '/status/418').code === '418' ? true : undefined), 60_000);
    assert.equal(curlHttps('httpbin.example.com', '/status/418').code, '418');
    assert.equal(serverCert(https, 'helloworld.example.com')?.serial, '0BB9');
    assert.equal(serverCert(https, 'httpbin.example.com')?.serial, '03E9');

    const rotated = makeLeaf(pki, 'httpbin.example.com', 4001, 'httpbin-rotated');
    mesh.write('secret-httpbin.yaml', tlsSecret('httpbin-credential', rotated));
    await eventually('new serial', () => (serverCert(https, 'httpbin.example.com')?.serial === '0FA1' ? true : undefined), 30_000);
    assert.equal(curlHttps('httpbin.example.com', '/status/418').code, '418');
  });

  it('SNI passthrough: the client sees the backend’s own certificate', async () => {
    const backend = makeLeaf(pki, 'nginx.example.com', 5001);
    mesh.write('nginx.yaml', nginxLike(backend.crt, backend.key));
    mesh.write('gw-pass.yaml', gateway('passgateway', `  - port: {number: 443, name: https-pass, protocol: HTTPS}\n    tls: {mode: PASSTHROUGH}\n    hosts: [nginx.example.com]\n`));
    mesh.write(
      'vs-pass.yaml',
      `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: nginx}\nspec:\n  hosts: [nginx.example.com]\n  gateways: [passgateway]\n  tls:\n  - match: [{port: 443, sniHosts: [nginx.example.com]}]\n    route: [{destination: {host: my-nginx, port: {number: 443}}}]\n`,
    );
    const cert = await eventually('backend cert', () => {
      const c = serverCert(https, 'nginx.example.com');
      return c?.serial === '1389' ? c : undefined;
    }, 60_000);
    assert.match(cert.subject, /nginx\.example\.com/);
    const page = curlHttps('nginx.example.com', '/');
    assert.equal(page.code, '200', page.stderr);
    // A ClientHello without SNI, and garbage, are closed; the terminated hosts keep working.
    assert.equal(serverCert(https, undefined), undefined);
    const garbage = spawnSync('sh', ['-c', `printf 'GARBAGE\\r\\n\\r\\n' | curl -s -m 5 telnet://127.0.0.1:${https}; echo rc=$?`], { encoding: 'utf8', timeout: 15_000 });
    assert.doesNotMatch(garbage.stdout, /HTTP\//);
    assert.equal(curlHttps('httpbin.example.com', '/status/418').code, '418');
  });

  it('httpsRedirect answers 301 to https', async () => {
    mesh.write(
      'gw-redirect.yaml',
      gateway('redirectgateway', `  - port: {number: 80, name: http-redirect, protocol: HTTP}\n    tls: {httpsRedirect: true}\n    hosts: [secure.example.com]\n`),
    );
    const r = await eventually('301', () => {
      const x = hostCurl(['-D', '-', '-H', 'Host: secure.example.com', `http://127.0.0.1:${http}/status/200`]);
      return x.code === '301' ? x : undefined;
    }, 30_000);
    assert.match(r.body, /location: https:\/\/secure\.example\.com\/status\/200/i);
    assert.equal(hostCurl(['-H', 'Host: httpbin.example.com', `http://127.0.0.1:${http}/status/200`]).code, '200', 'the other server on port 80 keeps serving plain HTTP');
  });

  it('a Gateway whose Secret is missing: that server is down, others work, analyze names it', async () => {
    mesh.write(
      'gw-missing.yaml',
      gateway('missinggateway', `  - port: {number: 443, name: https-missing, protocol: HTTPS}\n    tls: {mode: SIMPLE, credentialName: no-such-credential}\n    hosts: [missing.example.com]\n`),
    );
    mesh.write('vs-missing.yaml', httpbinVs('missing', 'missinggateway', 'missing.example.com'));
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(serverCert(https, 'missing.example.com'), undefined, 'no broken TLS is served');
    assert.equal(curlHttps('httpbin.example.com', '/status/418').code, '418');
    const a = sailfin(['analyze', '-f', mesh.configDir, '-f', `${ROOT}/samples/platform`]);
    assert.match(a.stdout + a.stderr, /no-such-credential/);
  });
});
