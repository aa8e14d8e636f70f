/**
 * Istio's egress gateway tasks (HTTP, ISTIO_MUTUAL to the gateway, TLS passthrough), ServiceEntry
 * workloadSelector with MESH_INTERNAL vs MESH_EXTERNAL, and the Sidecar resource's egress hosts, end to end
 * on a real local mesh. As in egress.test.ts, "external" servers run in a network namespace this test
 * attaches to the mesh bridge with addresses from 203.0.113.0/24: an echo server on .10:80 and
 * `openssl s_server` on .11:443 with its own certificate.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeCa, makeLeaf, platformWithoutIngress, type Pki } from './gateway-fixtures.js';
import { Mesh, ROOT, eventually, sailfin, skipReason } from './mesh-harness.js';

const skip = skipReason();
const BRIDGE = 'sfe2eeg2';
const EXT_NS = `${BRIDGE}-ext`;
const EXT_LINK = `${BRIDGE}-x0`;
const HTTP_IP = '203.0.113.10';
const TLS_IP = '203.0.113.11';
const EGRESS_GW = 'istio-egressgateway.istio-system.svc.cluster.local';

function sh(cmd: string): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}

/** vm-echo: labelled pods a ServiceEntry selects (and Service `echo` in the same namespace); a ServiceEntry in namespace other. */
const APPS = `apiVersion: apps/v1
kind: Deployment
metadata: {name: vm-echo}
spec:
  selector: {matchLabels: {app: vm-echo}}
  template:
    metadata: {labels: {app: vm-echo}}
    spec:
      containers:
      - {name: echo, image: sailfin/samples:0.1.0, command: [sailfin-sample, echo, --port, "8080"], ports: [{containerPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: vm-echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext-other, namespace: other}
spec:
  hosts: [other.example.test]
  addresses: [203.0.113.20]
  ports: [{number: 80, name: http, protocol: HTTP}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: 203.0.113.10}]
`;

const SE_EXT = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [ext.example.test]
  addresses: [${HTTP_IP}]
  ports:
  - {number: 80, name: http, protocol: HTTP}
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: ${HTTP_IP}}]
`;

/** Istio's "Egress Gateways" task, HTTP: sidecar → gateway port 80 in plaintext, gateway → the host. */
const EGRESS_HTTP = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: istio-egressgateway}
spec:
  selector: {istio: egressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [ext.example.test]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: egressgateway-for-ext}
spec:
  host: ${EGRESS_GW}
  subsets: [{name: ext}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: direct-ext-through-egress-gateway}
spec:
  hosts: [ext.example.test]
  gateways: [istio-egressgateway, mesh]
  http:
  - match: [{gateways: [mesh], port: 80}]
    route: [{destination: {host: ${EGRESS_GW}, subset: ext, port: {number: 80}}}]
  - match: [{gateways: [istio-egressgateway], port: 80}]
    route: [{destination: {host: ext.example.test, port: {number: 80}}}]
`;

/** The same with mesh mTLS between sidecar and gateway (Gateway ISTIO_MUTUAL on 443, DR ISTIO_MUTUAL with sni). */
const EGRESS_MUTUAL = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: istio-egressgateway}
spec:
  selector: {istio: egressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: [ext.example.test]
    tls: {mode: ISTIO_MUTUAL}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: egressgateway-for-ext}
spec:
  host: ${EGRESS_GW}
  subsets:
  - name: ext
    trafficPolicy:
      loadBalancer: {simple: ROUND_ROBIN}
      portLevelSettings:
      - port: {number: 443}
        tls: {mode: ISTIO_MUTUAL, sni: ext.example.test}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: direct-ext-through-egress-gateway}
spec:
  hosts: [ext.example.test]
  gateways: [istio-egressgateway, mesh]
  http:
  - match: [{gateways: [mesh], port: 80}]
    route: [{destination: {host: ${EGRESS_GW}, subset: ext, port: {number: 443}}}]
  - match: [{gateways: [istio-egressgateway], port: 443}]
    route: [{destination: {host: ext.example.test, port: {number: 80}}}]
`;

/** "Egress gateway for HTTPS traffic": SNI passthrough, a second DestinationRule for the gateway host (Istio merges them). */
const EGRESS_PASSTHROUGH = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: secure}
spec:
  hosts: [secure.example.test]
  addresses: [${TLS_IP}]
  ports: [{number: 443, name: tls, protocol: TLS}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: ${TLS_IP}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: egress-passthrough}
spec:
  selector: {istio: egressgateway}
  servers:
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: [secure.example.test]
    tls: {mode: PASSTHROUGH}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: egressgateway-for-secure}
spec:
  host: ${EGRESS_GW}
  subsets: [{name: secure}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: direct-secure-through-egress-gateway}
spec:
  hosts: [secure.example.test]
  gateways: [egress-passthrough, mesh]
  tls:
  - match: [{gateways: [mesh], port: 443, sniHosts: [secure.example.test]}]
    route: [{destination: {host: ${EGRESS_GW}, subset: secure, port: {number: 443}}}]
  - match: [{gateways: [egress-passthrough], port: 443, sniHosts: [secure.example.test]}]
    route: [{destination: {host: secure.example.test, port: {number: 443}}}]
`;

const seSelecting = (name: string, host: string, vip: string, location: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
  hosts: [${host}]
  addresses: [${vip}]
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8080}]
  location: ${location}
  resolution: STATIC
  workloadSelector: {labels: {app: vm-echo}}
`;

const SIDECAR = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["./*", "istio-system/*"]}]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
`;

describe('egress gateway, ServiceEntry and Sidecar egress on the local mesh', { skip, timeout: 240_000 }, () => {
  const mesh = new Mesh(BRIDGE, '10.89.0.0/16');
  const servers: ChildProcess[] = [];
  let pki: Pki;
  let curlPod: string;
  let gw: { name: string; namespace: string; netns: string };
  const curl = (url: string, extra: string[] = []) => mesh.execCurl(curlPod, url, extra);
  const gatewayLog = () => sailfin(['logs', gw.name, '-n', gw.namespace, '-c', 'proxy', '--state-dir', mesh.stateDir]).stdout;

  function routeToExternal(pod: string): string {
    const netns = mesh.refresh().pods.find((p) => p.name === pod)?.netns;
    assert.ok(netns, `pod ${pod} has a network namespace`);
    sh(`ip -n ${netns} route replace 203.0.113.0/24 dev eth0`);
    return netns;
  }

  before(() => {
    pki = makeCa();
    const ext = makeLeaf(pki, 'secure.example.test', 7101);
    mesh.write('platform.yaml', platformWithoutIngress(ROOT));
    mesh.add('samples/curl/curl.yaml');
    mesh.write('apps.yaml', APPS);
    mesh.write('se-ext.yaml', SE_EXT);
    mesh.up();
    sh(`ip netns del ${EXT_NS} 2>/dev/null; ip link del ${EXT_LINK} 2>/dev/null; ip netns add ${EXT_NS}`);
    sh(`ip link add ${EXT_LINK} type veth peer name eth0 netns ${EXT_NS} && ip link set ${EXT_LINK} master ${BRIDGE} up`);
    sh(`ip -n ${EXT_NS} link set lo up && ip -n ${EXT_NS} link set eth0 up`);
    for (const ip of [HTTP_IP, TLS_IP]) sh(`ip -n ${EXT_NS} addr add ${ip}/24 dev eth0`);
    sh(`ip -n ${EXT_NS} route add 10.89.0.0/16 dev eth0`);
    servers.push(spawn('ip', ['netns', 'exec', EXT_NS, join(ROOT, 'bin', 'sailfin-sample'), 'echo', '--port', '80'], { stdio: 'ignore' }));
    servers.push(spawn('ip', ['netns', 'exec', EXT_NS, 'openssl', 's_server', '-www', '-accept', `${TLS_IP}:443`, '-cert', ext.crt, '-key', ext.key], { stdio: 'ignore' }));
    curlPod = mesh.state.pods.find((p) => p.name.startsWith('curl'))!.name;
    routeToExternal(curlPod);
    const egress = mesh.state.pods.find((p) => p.gateway === 'egress');
    assert.ok(egress, 'an egress gateway pod runs');
    gw = { name: egress.name, namespace: egress.namespace, netns: routeToExternal(egress.name) };
  });
  after(() => {
    for (const s of servers) s.kill();
    spawnSync('sh', ['-c', `ip netns del ${EXT_NS}; ip link del ${EXT_LINK}`]);
    mesh.down();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it('egress gateway two-hop for HTTP: the request leaves through istio-egressgateway (log and metrics)', async () => {
    mesh.write('egress-gw.yaml', EGRESS_HTTP);
    await eventually('the request in the egress gateway log', () => {
      const r = curl('http://ext.example.test/status/200?via=egress-http');
      if (r.code !== '200') return undefined;
      return /via=egress-http.*outbound\|80\|\|ext\.example\.test/.test(gatewayLog()) ? true : undefined;
    }, 60_000, 1000);
    const metrics = sh(`ip netns exec ${gw.netns} curl -s -m 5 http://127.0.0.1:15020/stats/prometheus`);
    assert.match(metrics, /istio_requests_total\{[^}]*destination_service="ext\.example\.test"[^}]*response_code="200"[^}]*\} [1-9]/);
  });

  it('egress gateway with ISTIO_MUTUAL between sidecar and gateway (Gateway 443 ISTIO_MUTUAL, DR sni)', async () => {
    mesh.write('egress-gw.yaml', EGRESS_MUTUAL);
    // The gateway's log line for an mTLS-terminated request carries the SNI the sidecar sent (last field but one).
    await eventually('an mTLS request in the egress gateway log', () => {
      const r = curl('http://ext.example.test/status/200?via=egress-mtls');
      if (r.code !== '200') return undefined;
      return /via=egress-mtls.*outbound\|80\|\|ext\.example\.test .*:8443 .* ext\.example\.test -/.test(gatewayLog()) ? true : undefined;
    }, 60_000, 1000);
  });

  it('TLS passthrough through the egress gateway: the client sees the external server certificate', async () => {
    mesh.write('egress-passthrough.yaml', EGRESS_PASSTHROUGH);
    const r = await eventually('HTTPS through the gateway', () => {
      const x = curl('https://secure.example.test/', ['--cacert', pki.caCrt]);
      return x.code === '200' && /outbound\|443\|\|secure\.example\.test/.test(gatewayLog()) ? x : undefined;
    }, 60_000, 1000);
    // --cacert holds only the test CA that signed the external server's certificate: verifying proves it.
    assert.match(r.body, /s_server|Ciphers/i);
    const stats = sh(`ip netns exec ${gw.netns} curl -s -m 5 http://127.0.0.1:15000/stats`);
    assert.match(stats, /cluster\.outbound\|443\|\|secure\.example\.test\.upstream_cx_total: [1-9]/);
  });

  it('ServiceEntry workloadSelector: MESH_INTERNAL gets mesh mTLS to the selected pods, MESH_EXTERNAL plaintext', async () => {
    mesh.write('se-vm.yaml', `${seSelecting('vm-internal', 'vm.internal.test', '240.240.1.1', 'MESH_INTERNAL')}---\n${seSelecting('vm-external', 'vm-ext.internal.test', '240.240.1.2', 'MESH_EXTERNAL')}`);
    const internal = await eventually('vm.internal.test answers', () => {
      const r = curl('http://vm.internal.test/headers');
      return r.code === '200' ? r : undefined;
    }, 60_000, 1000);
    // The server sidecar sets X-Forwarded-Client-Cert only for a request that came over mTLS.
    assert.match(internal.body, /X-Forwarded-Client-Cert.*URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/curl/i);
    const external = await eventually('vm-ext.internal.test answers', () => {
      const r = curl('http://vm-ext.internal.test/headers');
      return r.code === '200' ? r : undefined;
    }, 60_000, 1000);
    assert.match(external.body, /"Host": "vm-ext\.internal\.test"/);
    assert.doesNotMatch(external.body, /X-Forwarded-Client-Cert/i);
  });

  it('Sidecar egress hosts ./* and istio-system/* with REGISTRY_ONLY: other namespaces 502, own namespace works', async () => {
    await eventually('other.example.test reachable before', () => (curl('http://other.example.test/status/200').code === '200' ? true : undefined), 60_000, 1000);
    mesh.write('sidecar.yaml', SIDECAR);
    await eventually('502 for another namespace', () => (curl('http://other.example.test/status/200').code === '502' ? true : undefined), 60_000, 1000);
    assert.equal(curl('http://echo/status/200').code, '200', 'same namespace still works');
    mesh.remove('sidecar.yaml');
    await eventually('reachable again without the Sidecar', () => (curl('http://other.example.test/status/200').code === '200' ? true : undefined), 60_000, 1000);
  });
});
