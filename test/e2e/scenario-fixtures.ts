/**
 * Helpers shared by the scenario e2e files: run a small Node program inside a pod (the pods have no
 * nc or fortio, but every pod can run this machine's node), and the manifests those scenarios add.
 */
import { Mesh, sailfin } from './mesh-harness.js';

/**
 * Runs `node -e SCRIPT ARGS…` in a pod's network namespace, so its connections are captured by the
 * pod's sidecar like the app's own, and parses the JSON it prints.
 */
export function nodeInPod<T>(mesh: Mesh, pod: string, script: string, args: string[] = [], timeoutMs = 60_000): T {
  const r = sailfin(['exec', pod, '--state-dir', mesh.stateDir, '--', process.execPath, '-e', script, ...args], timeoutMs);
  if (r.status !== 0) throw new Error(`node in ${pod} failed (${r.status}): ${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null') as T;
}

/**
 * Opens `conns` TCP connections in turn to host:port, sends `lines` lines on each and prints, per
 * connection, the first word of every answer line (tcp-echo's prefix: a version or a pod name).
 */
export const TCP_CLIENT = `
const net = require('node:net');
const [host, port, conns, lines] = process.argv.slice(1);
async function one() {
  return new Promise((resolve) => {
    const words = [];
    let buf = '';
    let sent = 0;
    const s = net.connect(Number(port), host);
    const next = () => { if (sent < Number(lines)) s.write('line' + (sent++) + '\\n'); else s.end(); };
    s.setTimeout(10000, () => s.destroy(new Error('timeout')));
    s.on('connect', next);
    s.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\\n')) >= 0) { words.push(buf.slice(0, nl).split(' ')[0]); buf = buf.slice(nl + 1); next(); }
    });
    s.on('error', (e) => { words.push('error:' + e.code); resolve(words); });
    s.on('close', () => resolve(words));
  });
}
(async () => { const out = []; for (let i = 0; i < Number(conns); i++) out.push(await one()); console.log(JSON.stringify(out)); })();
`;

/**
 * Sends \`count\` requests at once to a URL, each on its own connection (like fortio -c N), and prints
 * how many got each status.
 */
export const CONCURRENT_GET = `
const http = require('node:http');
const [url, count] = process.argv.slice(1);
const codes = {};
const one = () => new Promise((resolve) => {
  const req = http.get(url, { agent: false, timeout: 10000 }, (res) => { res.resume(); res.on('end', () => { codes[res.statusCode] = (codes[res.statusCode] || 0) + 1; resolve(); }); });
  // The timeout option only reports; destroy so a stuck request is counted instead of hanging the run.
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  req.on('error', (e) => { codes[e.code] = (codes[e.code] || 0) + 1; resolve(); });
});
Promise.all(Array.from({ length: Number(count) }, one)).then(() => console.log(JSON.stringify(codes)));
`;

/**
 * Sends several requests on ONE kept-alive connection and prints the x-echo-pod of each answer, so a
 * test can see whether the client sidecar balances per request (HTTP) or per connection (TCP).
 */
export const KEEPALIVE_PODS = `
const http = require('node:http');
const [url, count] = process.argv.slice(1);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const ports = new Set();
const one = () => new Promise((resolve) => {
  const req = http.get(url, { agent, timeout: 10000 }, (res) => { ports.add(req.socket.localPort); res.resume(); res.on('end', () => resolve(res.headers['x-echo-pod'] + ':' + res.statusCode)); });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  req.on('error', (e) => resolve('error:' + e.code));
});
(async () => { const pods = []; for (let i = 0; i < Number(count); i++) pods.push(await one()); agent.destroy(); console.log(JSON.stringify({ pods, connections: ports.size })); })();
`;

/** A client pod with a sidecar, to exec the scenario programs from. */
export const CLIENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: client}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
      containers:
      - name: client
        command: [sleep, infinity]
`;

/**
 * The root namespace alone, for mesh-wide PeerAuthentication, without samples/platform's two gateway
 * pods: on a loaded machine every extra proxy slows the others' certificate requests.
 */
export const ROOT_NAMESPACE = `apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
`;
