/**
 * Istio's Bookinfo tasks end to end on a real local mesh (see mesh-harness.ts): ingress, request
 * routing by header, fault abort and delay, traffic shifting, request timeouts, and STRICT mTLS
 * refusing a pod without a sidecar. Each scenario edits the watched config and waits for the mesh to
 * behave as Istio's task page says it should.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Mesh, ROOT, eventually, page, sailfin, skipReason, stars } from './mesh-harness.js';

const skip = skipReason();
const net = (f: string) => readFileSync(join(ROOT, 'samples', 'bookinfo', 'networking', f), 'utf8');
const JASON = { cookie: 'session=jason' };

/**
 * `kubectl apply` replaces an object by name; in a watched directory that means one file per object,
 * since two files defining VirtualService reviews would be a duplicate the mesh refuses.
 */
function applyEach(mesh: Mesh, yaml: string): void {
  for (const doc of yaml.split(/^---$/m)) {
    const kind = /^kind: (\w+)/m.exec(doc)?.[1];
    const name = /^  name: ([\w-]+)/m.exec(doc)?.[1];
    if (kind && name) mesh.write(`${kind}-${name}.yaml`, doc);
  }
}

const LEGACY = `apiVersion: v1
kind: Namespace
metadata:
  name: legacy
  labels: {istio-injection: disabled}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: curl, namespace: legacy}
spec:
  selector: {matchLabels: {app: curl}}
  template:
    metadata: {labels: {app: curl}}
    spec:
      containers:
      - name: curl
        command: [sleep, infinity]
`;

describe('bookinfo on the local mesh', { skip, timeout: 600_000 }, () => {
  const mesh = new Mesh('sfe2ebook', '10.91.0.0/16');
  let port: number;

  before(() => {
    mesh.add('samples/bookinfo/networking/bookinfo-gateway.yaml');
    mesh.write('legacy.yaml', LEGACY);
    mesh.up(['samples/platform', 'samples/bookinfo/platform']);
    port = mesh.ingressPort(8080);
  });
  after(() => mesh.down());

  it('serves the product page through the ingress gateway', async () => {
    const res = await eventually('product page', async () => {
      const r = await page(port);
      return r.status === 200 && r.body.includes('Reviewer1') ? r : undefined;
    });
    assert.match(res.body, /<title>Simple Bookstore App<\/title>/);
    assert.equal((await page(port, '/nothing-here')).status, 404, 'paths the VirtualService does not expose are 404 at the gateway');
    const pods = sailfin(['get', 'pods', '--state-dir', mesh.stateDir]);
    assert.match(pods.stdout, /productpage-v1-\S+\s+2\/2\s+Running/);
    const clusters = sailfin(['proxy-config', 'clusters', 'productpage', '--state-dir', mesh.stateDir]);
    assert.match(clusters.stdout, /reviews\.default\.svc\.cluster\.local\s+9080\s+-\s+outbound\s+EDS/);
  });

  it('request routing: all traffic to v1, then jason to v2', async () => {
    applyEach(mesh, net('destination-rule-all.yaml'));
    applyEach(mesh, net('virtual-service-all-v1.yaml'));
    await eventually('no stars, 6 times in a row', async () => {
      for (let i = 0; i < 6; i++) if (stars((await page(port)).body) !== 'none') return undefined;
      return true;
    });
    applyEach(mesh, net('virtual-service-reviews-test-v2.yaml'));
    await eventually('jason sees black stars', async () => (stars((await page(port, '/productpage', JASON)).body) === 'black' ? true : undefined));
    for (let i = 0; i < 4; i++) assert.equal(stars((await page(port)).body), 'none', 'other users stay on v1');
  });

  it('fault injection: an abort for jason shows the ratings error at once', async () => {
    applyEach(mesh, net('virtual-service-ratings-test-abort.yaml'));
    const r = await eventually('ratings unavailable for jason', async () => {
      const p = await page(port, '/productpage', JASON);
      return p.body.includes('Ratings service is currently unavailable') ? p : undefined;
    });
    assert.ok(r.ms < 3000, `the abort page took ${r.ms} ms`);
    assert.equal(stars((await page(port)).body), 'none');
  });

  it('fault injection: a 7 s delay for jason makes the page give up on reviews after about 6 s', async () => {
    applyEach(mesh, net('virtual-service-ratings-test-delay.yaml'));
    const r = await eventually('reviews unavailable for jason', async () => {
      const p = await page(port, '/productpage', JASON);
      return p.body.includes('Error fetching product reviews!') ? p : undefined;
    }, 60_000);
    assert.match(r.body, /Sorry, product reviews are currently unavailable for this book\./);
    assert.ok(r.ms >= 5000 && r.ms < 10_000, `the page took ${r.ms} ms (productpage: 3 s timeout, one retry)`);
    applyEach(mesh, net('virtual-service-all-v1.yaml').split(/^---$/m).find((d) => d.includes('name: ratings'))!);
  });

  it('traffic shifting: 50% of reviews to v3 shows red stars about half the time', async () => {
    // Requests keep flowing while the route changes under them: none may fail (make-before-break pushes).
    let stop = false;
    const statuses: number[] = [];
    const traffic = (async () => {
      while (!stop) statuses.push((await page(port).catch(() => ({ status: 0 }))).status);
    })();
    applyEach(mesh, net('virtual-service-reviews-50-v3.yaml'));
    await eventually('red stars appear', async () => (stars((await page(port)).body) === 'red' ? true : undefined));
    stop = true;
    await traffic;
    assert.ok(statuses.length > 0);
    assert.deepEqual(statuses.filter((s) => s !== 200), [], `${statuses.length} requests during the change`);
    const seen = { none: 0, black: 0, red: 0 };
    for (let i = 0; i < 40; i++) seen[stars((await page(port)).body)]++;
    assert.equal(seen.black, 0, JSON.stringify(seen));
    assert.ok(seen.red >= 8 && seen.red <= 32, `red ${seen.red}/40 (${JSON.stringify(seen)})`);
  });

  it('request timeouts: a 0.5 s timeout on reviews cuts off a 2 s ratings delay', async () => {
    applyEach(mesh, net('virtual-service-reviews-v2.yaml'));
    applyEach(mesh, net('virtual-service-ratings-delay-2s.yaml'));
    const slow = await eventually('black stars after the 2 s delay', async () => {
      const p = await page(port);
      return stars(p.body) === 'black' && p.ms >= 1800 ? p : undefined;
    });
    assert.ok(slow.ms < 5000, `${slow.ms} ms`);
    applyEach(mesh, net('virtual-service-reviews-timeout.yaml'));
    const cut = await eventually('reviews unavailable after about 1 s', async () => {
      const p = await page(port);
      return p.body.includes('Error fetching product reviews!') ? p : undefined;
    });
    assert.ok(cut.ms >= 800 && cut.ms < 2500, `the page took ${cut.ms} ms (0.5 s timeout, productpage retries once)`);
    applyEach(mesh, net('virtual-service-all-v1.yaml').split(/^---$/m).find((d) => d.includes('name: ratings'))!);
  });

  it('STRICT mTLS: a pod without a sidecar is refused, sidecars still talk', async () => {
    const url = 'http://productpage.default.svc.cluster.local:9080/productpage';
    await eventually('legacy pod reaches productpage in plaintext (PERMISSIVE)', () => (mesh.execCurl('curl', url, [], 'legacy').code === '200' ? true : undefined));
    mesh.write('strict.yaml', 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n');
    await eventually('legacy pod refused', () => (mesh.execCurl('curl', url, [], 'legacy').code === '000' ? true : undefined));
    assert.equal(mesh.execCurl('ratings', url).code, '200', 'a sidecar pod still reaches productpage over mTLS');
    assert.equal((await page(port)).status, 200, 'and so does the ingress gateway');
  });
});
