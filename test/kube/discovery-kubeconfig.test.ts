/**
 * `sailfin discovery --kubeconfig FILE` against the stand-in API server (test/kube/fake-api-server.ts;
 * no real API server can run here): the control plane starts from what the API server lists and
 * serves it; as the elected leader it writes the webhook's caBundle, the namespaces' root-cert
 * ConfigMaps and (once) its CA as the `cacerts` Secret; its injection webhook answers AdmissionReviews
 * over TLS that caBundle verifies; and a second replica, started with a root of its own, follows the
 * shared CA so its webhook verifies with the same caBundle, without taking the lease. A sidecar
 * started as injection starts it (pod env, a service-account token the stand-in's TokenReview
 * knows, the published root) gets its workload certificate from the control plane's CA, and its EDS for a
 * Service without a selector follows that Service's EndpointSlice; the injector's ConfigMap is honoured.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FakeApiServer } from './fake-api-server.js';

const BIN = new URL('../../../bin/sailfin', import.meta.url).pathname;
const WEBHOOKS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';

interface Replica {
  child: ChildProcess;
  line: string;
  stderr: () => string;
  webhookPort: number;
}

async function startDiscovery(kubeconfig: string, caDir: string): Promise<Replica> {
  const child = spawn(BIN, ['discovery', '--kubeconfig', kubeconfig, '--host', '127.0.0.1', '--port', '0', '--monitoring-port', '0', '--ca-port', '0', '--webhook-port', '0', '--ca-state-dir', caDir, '--proxy-image', 'example/sailfin:3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up line; stdout: ${out} stderr: ${err.slice(0, 2000)}`)), 45_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.once('exit', (code) => reject(new Error(`discovery exited ${code}: ${err}`)));
  });
  const webhookPort = Number(/injection webhook on [\d.]+:(\d+)/.exec(line)?.[1]);
  return { child, line, stderr: () => err, webhookPort };
}

async function stop(r: Replica | undefined): Promise<void> {
  if (!r) return;
  r.child.kill('SIGKILL'); // SIGTERM's clean shutdown is exercised by the CLI tests; here only the source matters
  await new Promise((done) => (r.child.exitCode !== null ? done(null) : r.child.once('exit', done)));
}

function inject(port: number, caBundle: string, labels: Record<string, string> = { app: 'p' }): Promise<{ response: { allowed: boolean; patch?: string } }> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'bookinfo', operation: 'CREATE', object: { metadata: { name: 'p', labels }, spec: { containers: [{ name: 'app', image: 'app' }] } } },
  });
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/inject', method: 'POST', ca: caBundle, servername: 'istiod.istio-system.svc', headers: { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
      let t = '';
      res.on('data', (c: Buffer) => (t += c.toString()));
      res.on('end', () => resolve(JSON.parse(t)));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('discovery --kubeconfig serves the cluster, leads, shares its CA, and a second replica follows', { timeout: 150_000 }, async () => {
  const api = new FakeApiServer();
  const server = await api.start();
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-kube-'));
  api.put('/api/v1/services', { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.20', selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } });
  api.put('/api/v1/namespaces', { metadata: { name: 'bookinfo', labels: { 'istio-injection': 'enabled' } } });
  api.put(WEBHOOKS, {
    metadata: { name: 'istio-sidecar-injector' },
    webhooks: [{ name: 'namespace.sidecar-injector.istio.io', clientConfig: { service: { name: 'istiod', namespace: 'istio-system', path: '/inject', port: 443 } } }],
  });
  api.put('/apis/networking.istio.io/v1/virtualservices', { metadata: { name: 'web', namespace: 'default' }, spec: { hosts: ['web'], http: [{ route: [{ destination: { host: 'web' } }] }] } });
  // A Service without a selector and its EndpointSlice; the injector's ConfigMap with a never-selector.
  api.put('/api/v1/services', { metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: '10.96.0.21', ports: [{ name: 'tcp', port: 5432 }] } });
  const dbSlice = (addresses: string[]) => ({ metadata: { name: 'db-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } }, addressType: 'IPv4', endpoints: addresses.map((a) => ({ addresses: [a] })), ports: [{ name: 'tcp', port: 5432 }] });
  api.put(SLICES, dbSlice(['10.244.3.1']));
  api.put('/api/v1/configmaps', { metadata: { name: 'istio-sidecar-injector', namespace: 'istio-system' }, data: { config: 'neverInjectSelector: [{matchLabels: {app: batch}}]\n' } });
  const kubeconfig = join(dir, 'config');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'stand-in', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'tester', user: { token: 'not-checked' } }],
      contexts: [{ name: 'test', context: { cluster: 'stand-in', user: 'tester' } }],
      'current-context': 'test',
    }),
  );
  let first: Replica | undefined;
  let second: Replica | undefined;
  let sidecar: ChildProcess | undefined;
  try {
    first = await startDiscovery(kubeconfig, join(dir, 'ca-1'));
    assert.match(first.line, /6 objects from the Kubernetes API/);
    assert.ok(first.webhookPort > 0, first.line);
    await until('the control plane to watch after listing', () => api.requests.some((r) => r.includes('/apis/networking.istio.io/v1/virtualservices') && r.includes('watch=true')));
    const caBundleOf = () => {
      const b64 = (api.get(WEBHOOKS, undefined, 'istio-sidecar-injector') as unknown as { webhooks: { clientConfig: { caBundle?: string } }[] }).webhooks[0].clientConfig.caBundle;
      return b64 ? Buffer.from(b64, 'base64').toString('utf8') : '';
    };
    await until('the leader to write caBundle', () => caBundleOf() !== '');
    await until('the root cert ConfigMap', () => !!api.get('/api/v1/configmaps', 'bookinfo', 'istio-ca-root-cert'));
    await until('the shared CA Secret', () => !!api.get('/api/v1/secrets', 'istio-system', 'cacerts'));
    const lease = () => (api.get('/apis/coordination.k8s.io/v1/leases', 'istio-system', 'istio-leader') as unknown as { spec: { holderIdentity: string } } | undefined)?.spec.holderIdentity;
    const leader = lease();
    assert.ok(leader, 'leader elected through a Lease');
    const caBundle = caBundleOf();
    const rootCm = api.get('/api/v1/configmaps', 'bookinfo', 'istio-ca-root-cert') as unknown as { data: Record<string, string> };
    assert.equal(rootCm.data['root-cert.pem'], caBundle);
    // A namespace created later gets the root from its watch event, not the (60 s) periodic resync.
    api.put('/api/v1/namespaces', { metadata: { name: 'late' } });
    await until('the new namespace\'s root cert', () => !!api.get('/api/v1/configmaps', 'late', 'istio-ca-root-cert'));
    const secret = api.get('/api/v1/secrets', 'istio-system', 'cacerts') as unknown as { data: Record<string, string> };
    assert.equal(Buffer.from(secret.data['root-cert.pem'], 'base64').toString('utf8'), caBundle);
    const answer = await inject(first.webhookPort, caBundle);
    assert.equal(answer.response.allowed, true);
    const patch = Buffer.from(answer.response.patch ?? '', 'base64').toString('utf8');
    assert.match(patch, /example\/sailfin:3/, 'namespace labels from the watched Namespace select the pod; the flag sets the image');
    assert.equal((await inject(first.webhookPort, caBundle, { app: 'batch' })).response.patch, undefined, 'neverInjectSelector from the watched istio-sidecar-injector ConfigMap');

    // An injected sidecar's start: its projected token (audience istio-ca) proves its service account.
    api.tokens.set('reviews-token', { username: 'system:serviceaccount:bookinfo:bookinfo-reviews', audiences: ['istio-ca'] });
    const identityDir = join(dir, 'identity');
    mkdirSync(identityDir);
    writeFileSync(join(identityDir, 'istio-token'), 'reviews-token');
    writeFileSync(join(identityDir, 'root-cert.pem'), caBundle);
    const adsPort = Number(/ADS on [\d.]+:(\d+)/.exec(first.line)?.[1]);
    const caPort = Number(/CA on [\d.]+:(\d+)/.exec(first.line)?.[1]);
    sidecar = spawn(BIN, ['proxy', '--discovery-address', `127.0.0.1:${adsPort}`, '--admin-port', '0', '--identity-dir', identityDir, '--ca-address', `127.0.0.1:${caPort}`], {
      env: { ...process.env, POD_NAME: 'reviews-v1-abc', POD_NAMESPACE: 'bookinfo', INSTANCE_IP: '10.244.0.9', SERVICE_ACCOUNT: 'bookinfo-reviews' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let sidecarErr = '';
    sidecar.stderr!.on('data', (c: Buffer) => (sidecarErr += c.toString()));
    await until('the sidecar to get its workload certificate', () => sidecarErr.includes('workload certificate in place') || sidecar!.exitCode !== null, 45_000).catch((e: Error) => {
      throw new Error(`${e.message}; sidecar stderr: ${sidecarErr.slice(-1500)}; discovery stderr: ${first!.stderr().slice(-1500)}`);
    });
    assert.match(sidecarErr, /workload certificate in place/, sidecarErr);
    assert.ok(api.requests.some((r) => r.startsWith('POST /apis/authentication.k8s.io/v1/tokenreviews')), 'the CA asked the API server about the token');

    // The sidecar's EDS for the selector-less service follows its EndpointSlice through the watch.
    const monitoringPort = Number(/monitoring on [\d.]+:(\d+)/.exec(first.line)?.[1]);
    const debug = async (path: string): Promise<any> => (await fetch(`http://127.0.0.1:${monitoringPort}${path}`)).json();
    const dbEds = async (): Promise<string> => {
      const proxies = (await debug('/debug/syncz')) as Array<{ proxy: string }>;
      if (!proxies[0]) return '';
      const dump = await debug(`/debug/config_dump?proxyID=${encodeURIComponent(proxies[0].proxy)}`);
      const eds = dump.configs.find((c: { '@type': string }) => c['@type'].endsWith('EndpointsConfigDump'));
      const cla = eds?.dynamic_endpoint_configs.map((e: any) => e.endpoint_config).find((c: any) => c.cluster_name === 'outbound|5432||db.default.svc.cluster.local');
      return (cla?.endpoints ?? []).flatMap((g: any) => g.lb_endpoints.map((l: any) => l.endpoint.address.socket_address.address)).sort().join(',');
    };
    await until('EDS of db from its slice', async () => (await dbEds()) === '10.244.3.1');
    api.put(SLICES, dbSlice(['10.244.3.1', '10.244.3.2']));
    await until('EDS of db after the slice changed', async () => (await dbEds()) === '10.244.3.1,10.244.3.2');

    // A second replica made its own root in its own state dir, then follows `cacerts`.
    second = await startDiscovery(kubeconfig, join(dir, 'ca-2'));
    const port = second.webhookPort;
    await until('the second replica to serve with the shared CA', () => inject(port, caBundle).then((a) => a.response.allowed, () => false));
    assert.equal(lease(), leader, 'the second replica did not take the lease');
    assert.equal(caBundleOf(), caBundle, 'caBundle unchanged');
  } finally {
    if (sidecar) {
      sidecar.kill('SIGKILL');
      await new Promise((done) => (sidecar!.exitCode !== null ? done(null) : sidecar!.once('exit', done)));
    }
    await stop(second);
    await stop(first);
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
