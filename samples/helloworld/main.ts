/** Istio's helloworld: `GET /hello` → `Hello version: <v>, instance: <pod>` (used by the locality tasks). */
import http from 'node:http';
import { announce, listenPort, podName } from '../lib/http-client.js';

const version = process.env.SERVICE_VERSION ?? 'v1';
const server = http.createServer((req, res) => {
  if (req.url === '/hello') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`Hello version: ${version}, instance: ${podName()}\n`);
    return;
  }
  res.writeHead(404);
  res.end();
});
server.listen(listenPort(5000), () => announce(server, `helloworld ${version}`));
