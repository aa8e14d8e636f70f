/**
 * DNS inside a pod namespace, end to end through the system resolver: the pod's resolv.conf (written to
 * /etc/netns/<ns>/, which `ip netns exec` bind-mounts) names a server that does not exist, the capture
 * rules redirect port 53 to the DNS proxy on 15053 (running as the proxy UID), and glibc's search-list
 * expansion (`getent hosts`) finds services by their short names.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCaptureRules, DEFAULT_CAPTURE_CONFIG } from '../../src/runtime/capture-rules.js';
import { applyCaptureRules } from '../../src/runtime/iptables.js';
import { writeResolvConf } from '../../src/runtime/netns.js';
import { NetworkState } from '../../src/runtime/network-state.js';
import { distRoot, netnsSkipReason, removeDir, scratchDir, sh, startIn, tag, Teardown } from './netns-fixture.js';

describe('DNS capture in a pod namespace', { skip: netnsSkipReason(true) }, () => {
  const t = tag();
  const ns = `sf-t-${t}-dns`;
  const subnet = `10.252.${parseInt(t.slice(0, 2), 16)}`;
  const teardown = new Teardown();
  const dir = scratchDir();
  teardown.fn(() => removeDir(dir));
  let state: NetworkState;

  function getent(name: string, uid?: number): { code: number | null; out: string } {
    const user = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
    const r = spawnSync('ip', ['netns', 'exec', ns, ...user, 'getent', 'ahostsv4', name], { encoding: 'utf8', timeout: 15_000 });
    return { code: r.status, out: r.stdout };
  }

  before(async () => {
    state = await NetworkState.open(join(dir, 'state'));
    teardown.fn(() => state.teardown());
    state.add({ kind: 'netns', name: ns });
    sh('ip', 'netns', 'add', ns);
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    // An interface with a subnet gives the (non-existent) nameserver a route, as a pod's eth0 would;
    // a veth whose both ends stay in the namespace (no dummy driver is needed).
    sh('ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    sh('ip', '-n', ns, 'addr', 'add', `${subnet}.2/24`, 'dev', 'eth0');
    sh('ip', '-n', ns, 'link', 'set', 'eth0p', 'up');
    sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
    writeResolvConf(state, ns, {
      nameservers: [`${subnet}.53`],
      search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      ndots: 5,
      options: ['timeout:1', 'attempts:1'], // keeps the uncaptured-query case short
    });
    await applyCaptureRules(buildCaptureRules({ ...DEFAULT_CAPTURE_CONFIG, captureDns: true }, 4), { netns: ns });

    const mod = (name: string) => JSON.stringify(pathToFileURL(join(distRoot, 'src', 'runtime', name)).href);
    const script = join(dir, 'dns.mjs');
    writeFileSync(
      script,
      `import { DnsProxy } from ${mod('dns-proxy.js')};
import { DnsTable } from ${mod('dns-table.js')};
const table = new DnsTable({ podNamespace: 'default' });
table.addService('reviews', 'default', ['10.96.0.10']);
table.addService('ratings', 'other', ['10.96.0.11']);
table.addPodHostname('db-1', 'db', 'default', ['10.88.0.9']);
await new DnsProxy({ table, port: 15053 }).start();
console.log('ready');
`,
    );
    await startIn(ns, [process.execPath, script], teardown, 1337);
  });

  after(() => teardown.run());

  test('a short service name resolves through the search list and the captured port 53', () => {
    const r = getent('reviews');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^10\.96\.0\.10\s/m);
  });

  test('<name>.<namespace> and per-pod headless hostnames resolve too; unknown names fail', () => {
    assert.match(getent('ratings.other').out, /^10\.96\.0\.11\s/m);
    assert.match(getent('db-1.db').out, /^10\.88\.0\.9\s/m);
    assert.match(getent('REVIEWS.default.svc.cluster.local').out, /^10\.96\.0\.10\s/m);
    assert.notEqual(getent('nope').code, 0);
  });

  test('queries over TCP (resolv.conf use-vc) are captured to the proxy as well', () => {
    writeResolvConf(state, ns, {
      nameservers: [`${subnet}.53`],
      search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      options: ['timeout:1', 'attempts:1', 'use-vc'],
    });
    try {
      assert.match(getent('reviews').out, /^10\.96\.0\.10\s/m);
    } finally {
      writeResolvConf(state, ns, {
        nameservers: [`${subnet}.53`],
        search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
        options: ['timeout:1', 'attempts:1'],
      });
    }
  });

  test("the proxy UID's own queries are not captured (they would loop back to itself)", () => {
    // As UID 1337 the query goes to the real (absent) nameserver and times out: no answer.
    assert.notEqual(getent('reviews.default.svc.cluster.local.', 1337).code, 0);
    assert.equal(getent('reviews.default.svc.cluster.local.').code, 0, 'the same query from the app is answered');
  });
});
