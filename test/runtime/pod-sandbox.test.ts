/**
 * The pieces of netns mode together, as `sailfin up` will use them: two pods on a bridge, one with a
 * sidecar (capture rules, DNS proxy and a stand-in proxy on 15001/15006 as UID 1337) and one legacy
 * pod without. The sidecar pod's app looks a service up by its short name and dials it: DNS is
 * answered by its DNS proxy, the connection lands on 15001 with the original destination, and the
 * proxy's own connection to that destination crosses the bridge uncaptured.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createBridge, type Bridge } from '../../src/runtime/bridge.js';
import { captureConfigFromAnnotations } from '../../src/runtime/capture-annotations.js';
import { DnsTable } from '../../src/runtime/dns-table.js';
import { NetworkState } from '../../src/runtime/network-state.js';
import { isCaptureSupported } from '../../src/runtime/original-dst.js';
import { createPodSandbox, deletePodSandbox, type PodSandbox } from '../../src/runtime/pod-sandbox.js';
import { distRoot, netnsSkipReason, removeDir, runIn, scratchDir, sh, startIn, tag, Teardown, writeClient, writeResponder } from './netns-fixture.js';

const skip = netnsSkipReason(true) ?? (isCaptureSupported().supported ? undefined : isCaptureSupported().reason);

describe('pod sandboxes: sidecar pod and legacy pod on one bridge', { skip }, () => {
  const t = tag();
  const teardown = new Teardown();
  const dir = scratchDir();
  teardown.fn(() => removeDir(dir));
  let state: NetworkState;
  let bridge: Bridge;
  let sidecarPod: PodSandbox;
  let legacyPod: PodSandbox;
  let client = '';

  before(async () => {
    state = await NetworkState.open(join(dir, 'state'));
    teardown.fn(() => state.teardown());
    bridge = await createBridge(state, { name: `sft${t}`, podCidr: `10.253.${parseInt(t.slice(0, 2), 16)}.0/24` });
    const search = new DnsTable({ podNamespace: 'default' }).searchDomains();
    sidecarPod = await createPodSandbox(state, bridge, 'default/productpage-0', { capture: captureConfigFromAnnotations({}), dnsSearch: search, namePrefix: `sf-t${t}` });
    legacyPod = await createPodSandbox(state, bridge, 'legacy/sleep-0', { dnsSearch: search, namePrefix: `sf-t${t}` });

    const responder = writeResponder(dir);
    client = writeClient(dir);
    const mod = (name: string) => JSON.stringify(pathToFileURL(join(distRoot, 'src', 'runtime', name)).href);
    const dns = join(dir, 'dns.mjs');
    writeFileSync(
      dns,
      `import { DnsProxy } from ${mod('dns-proxy.js')};
import { DnsTable } from ${mod('dns-table.js')};
const table = new DnsTable({ podNamespace: 'default' });
table.addService('reviews', 'default', [${JSON.stringify(legacyPod.ip)}]);
await new DnsProxy({ table, port: 15053 }).start();
console.log('ready');
`,
    );
    await startIn(sidecarPod.netns, [process.execPath, dns], teardown, 1337);
    await startIn(sidecarPod.netns, [process.execPath, responder, 'proxy', '15001', '15006'], teardown, 1337);
    await startIn(legacyPod.netns, [process.execPath, responder, 'reviews', '9080'], teardown);
  });

  after(() => teardown.run());

  test("the app's short-name lookup is answered by its sidecar's DNS proxy", async () => {
    const out = await runIn(sidecarPod.netns, ['getent', 'ahostsv4', 'reviews']);
    assert.match(out, new RegExp(`^${legacyPod.ip.replace(/\./g, '\\.')}\\s`, 'm'));
  });

  test('the app dialling that address lands on 15001 with the original destination', async () => {
    const a = JSON.parse(await runIn(sidecarPod.netns, [process.execPath, client, 'reviews', '9080']));
    assert.equal(a.role, 'proxy');
    assert.equal(a.port, 15001);
    assert.deepEqual(a.dst, { address: legacyPod.ip, port: 9080, family: 4 });
  });

  test("the proxy's own connection crosses the bridge to the legacy pod", async () => {
    const a = JSON.parse(await runIn(sidecarPod.netns, [process.execPath, client, legacyPod.ip, '9080'], 1337));
    assert.equal(a.role, 'reviews');
  });

  test("the legacy pod calling the sidecar pod lands on the sidecar's 15006", async () => {
    const a = JSON.parse(await runIn(legacyPod.netns, [process.execPath, client, sidecarPod.ip, '9080']));
    assert.equal(a.role, 'proxy');
    assert.equal(a.port, 15006);
    assert.deepEqual(a.dst, { address: sidecarPod.ip, port: 9080, family: 4 });
  });

  test('deleting a sandbox removes its namespace, link and /etc/netns entry', async () => {
    await deletePodSandbox(state, bridge, legacyPod);
    const host = `${sh('ip', 'netns', 'list')}\n${sh('ip', '-o', 'link')}`;
    assert.doesNotMatch(host, new RegExp(legacyPod.netns));
    assert.doesNotMatch(host, new RegExp(legacyPod.hostLink));
    assert.equal(state.created.some((c) => 'name' in c && c.name === legacyPod.netns), false);
  });
});
