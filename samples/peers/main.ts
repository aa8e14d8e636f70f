/**
 * A StatefulSet member that talks to its peers directly by per-pod hostname
 * (`<name>-<i>.<service>`), the etcd/redis/kafka case of the second seed: Istio must accept these
 * per-pod hostnames at the destination even though the Service is headless.
 *   GET /whoami  → this pod's name
 *   GET /peers   → asks every peer's /whoami and reports what each answered
 */
import http from 'node:http';
import { httpGet, listenPort, podName, sendJson } from '../lib/http-client.js';

const port = listenPort(8080);
const service = process.env.PEER_SERVICE ?? 'peers';
const replicas = Number(process.env.PEER_COUNT ?? '3');
const statefulSet = process.env.STATEFULSET_NAME ?? podName().replace(/-\d+$/, '');

async function askPeers(): Promise<Record<string, string>> {
  const answers: Record<string, string> = {};
  await Promise.all(
    Array.from({ length: replicas }, async (_, i) => {
      const host = `${statefulSet}-${i}.${service}`;
      try {
        const r = await httpGet(`http://${host}:${port}/whoami`, {}, 3000);
        answers[host] = r.status === 200 ? r.body.trim() : `HTTP ${r.status}`;
      } catch (err) {
        answers[host] = `error: ${(err as Error).message}`;
      }
    }),
  );
  return answers;
}

http
  .createServer((req, res) => {
    if (req.url === '/whoami') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${podName()}\n`);
      return;
    }
    if (req.url === '/peers') {
      askPeers().then((a) => sendJson(res, 200, { from: podName(), peers: a }));
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  })
  .listen(port, () => console.log(`peer ${podName()} listening on ${port}`));
