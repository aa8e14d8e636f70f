/**
 * The second seed ("direct connections in istio") on a real local mesh: what happens to requests
 * that address pods directly. Under STRICT mTLS a pod of a normal Service is reachable only through
 * its Service; a headless Service's pods are reachable by per-pod hostname and by IP on declared
 * ports; `appProtocol: tcp` balances per connection while HTTP balances per request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Mesh, eventually, skipReason } from './mesh-harness.js';
import { CLIENT, KEEPALIVE_PODS, TCP_CLIENT, nodeInPod, ROOT_NAMESPACE } from './scenario-fixtures.js';

const skip = skipReason();

const peerAuth = (mode: 'STRICT' | 'PERMISSIVE') => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: ${mode}}
`;

/** Two echo pods behind one ClusterIP Service: an HTTP port and an opaque TCP port. */
const WEB = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 8080}
  - {name: raw, port: 9000, appProtocol: tcp}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        command: [sh, -c, 'exec sailfin-sample echo --port 8080 --tcp 9000 --prefix "$POD_NAME"']
`;

/** A headless Service that declares 8080 only, while its pod also serves TCP on 9100. */
const HL = `apiVersion: v1
kind: Service
metadata: {name: hl}
spec:
  clusterIP: None
  selector: {app: hl}
  ports:
  - {name: http, port: 8080}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: hl}
spec:
  serviceName: hl
  replicas: 1
  selector: {matchLabels: {app: hl}}
  template:
    metadata: {labels: {app: hl}}
    spec:
      containers:
      - name: hl
        command: [sailfin-sample, echo, --port, '8080', --tcp, '9100', --prefix, hl]
`;

describe('direct pod connections (second seed) on the local mesh', { skip, timeout: 240_000 }, () => {
  const mesh = new Mesh('sfe2esd', '10.97.0.0/16');
  const ip = (prefix: string) => {
    const p = mesh.state.pods.find((x) => x.name.startsWith(prefix));
    if (!p) throw new Error(`no pod ${prefix}*`);
    return p.ip;
  };
  const curl = (url: string) => mesh.execCurl('client', url, ['-m', '5']);

  before(() => {
    mesh.add('samples/peers/peers.yaml');
    mesh.write('client.yaml', CLIENT);
    mesh.write('web.yaml', WEB);
    mesh.write('hl.yaml', HL);
    mesh.write('peer-auth.yaml', peerAuth('STRICT'));
    mesh.write('istio-system.yaml', ROOT_NAMESPACE);
    mesh.up();
  });
  after(() => mesh.down());

  it('STRICT: the pod IP of a non-headless Service on its HTTP port is refused; the Service name works', async () => {
    // The first request waits for the client sidecar's config and certificate, slow on a loaded machine.
    await eventually('web reachable by name', () => (curl('http://web:8080/ip').code === '200' ? true : undefined), 90_000, 1000);
    const direct = curl(`http://${ip('web-')}:8080/ip`);
    // The client sidecar finds no virtual host for a bare IP and passes it through in plaintext;
    // the destination sidecar then refuses plaintext under STRICT (curl: reset, or a 503 from the client side).
    assert.notEqual(direct.code, '200', `direct pod-IP request must not reach the app: ${JSON.stringify(direct)}`);
  });

  it('headless: per-pod hostnames reach every member; pod IP works on a declared port, not on an undeclared one', async () => {
    const res = await eventually('peers-0 hears every member', () => {
      const r = curl('http://peers-0.peers:8080/peers');
      if (r.code !== '200') return undefined;
      const body = JSON.parse(r.body) as { from: string; peers: Record<string, string> };
      return Object.values(body.peers).every((v) => /^peers-\d$/.test(v)) ? body : undefined;
    }, 60_000, 1000);
    assert.equal(res.from, 'peers-0');
    assert.deepEqual(res.peers, { 'peers-0.peers': 'peers-0', 'peers-1.peers': 'peers-1', 'peers-2.peers': 'peers-2' });
    // Retried: on a loaded machine one `sailfin exec` can outlive its 20 s budget.
    await eventually('peers-1 by IP', () => (curl(`http://${ip('peers-1')}:8080/whoami`).body.trim() === 'peers-1' ? true : undefined), 60_000, 1000);
    await eventually('hl-0 by IP on its declared port', () => (curl(`http://${ip('hl-0')}:8080/ip`).code === '200' ? true : undefined), 60_000, 1000);
    const undeclared = nodeInPod<string[][]>(mesh, 'client', TCP_CLIENT, [ip('hl-0'), '9100', '1', '1']);
    assert.notDeepEqual(undeclared, [['hl']], 'an undeclared port is not reachable under STRICT');
  });

  it('appProtocol tcp keeps a connection on one pod; HTTP spreads one connection\'s requests over pods', async () => {
    const conns = nodeInPod<string[][]>(mesh, 'client', TCP_CLIENT, ['web', '9000', '4', '6']);
    for (const c of conns) {
      assert.equal(c.length, 6, `every line answered: ${JSON.stringify(conns)}`);
      assert.equal(new Set(c).size, 1, `one connection, one pod: ${JSON.stringify(c)}`);
      assert.match(c[0], /^web-/);
    }
    const http = nodeInPod<{ pods: string[]; connections: number }>(mesh, 'client', KEEPALIVE_PODS, ['http://web:8080/ip', '12']);
    assert.equal(http.connections, 1, 'the client kept one connection');
    assert.ok(http.pods.every((p) => /^web-.*:200$/.test(p)), JSON.stringify(http.pods));
    assert.ok(new Set(http.pods).size > 1, `requests of one connection spread over pods: ${JSON.stringify(http.pods)}`);
  });

  it('PERMISSIVE: a pod IP on a declared HTTP port reaches the pod in plaintext, as in Istio', async () => {
    mesh.write('peer-auth.yaml', peerAuth('PERMISSIVE'));
    await eventually('pod IP accepted under PERMISSIVE', () => (curl(`http://${ip('web-')}:8080/ip`).code === '200' ? true : undefined), 60_000, 1000);
  });

  // InboundPassthroughCluster connects from 127.0.0.6, which the capture rules let through, as Istio's does;
  // without that the proxy's own connection to the pod IP was captured again and looped.
  it('PERMISSIVE: an undeclared port passes through in plaintext', () => {
    const undeclared = nodeInPod<string[][]>(mesh, 'client', TCP_CLIENT, [ip('hl-0'), '9100', '1', '1'], 20_000);
    assert.deepEqual(undeclared, [['hl']]);
  });
});
