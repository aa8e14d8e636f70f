/**
 * Real traffic capture: two network namespaces joined by a veth pair ("pod" and "peer"), Sailfin's
 * capture rules applied in the pod with iptables-restore, a stand-in proxy listening on 15001/15006
 * as UID 1337, and clients in either namespace. Each case checks where a connection actually landed
 * and what SO_ORIGINAL_DST (through the native addon) says it was meant for.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCaptureRules, type CaptureConfig } from '../../src/runtime/capture-rules.js';
import { captureConfigFromAnnotations } from '../../src/runtime/capture-annotations.js';
import { applyCaptureRules, removeCaptureRules } from '../../src/runtime/iptables.js';
import { isCaptureSupported } from '../../src/runtime/original-dst.js';
import { netnsSkipReason, removeDir, runIn, scratchDir, sh, startIn, tag, Teardown, writeClient, writeResponder } from './netns-fixture.js';

const skip = netnsSkipReason(true) ?? (isCaptureSupported().supported ? undefined : isCaptureSupported().reason);

interface Answer {
  role: string;
  port: number;
  dst: { address: string; port: number; family: number } | null;
  uid: number;
}

describe('iptables capture in a network namespace', { skip }, () => {
  const t = tag();
  const pod = `sf-t-${t}-pod`;
  const peer = `sf-t-${t}-peer`;
  const subnet = `10.250.${parseInt(t.slice(0, 2), 16)}`;
  const podIp = `${subnet}.1`;
  const peerIp = `${subnet}.2`;
  const peerIp2 = `${subnet}.3`;
  const teardown = new Teardown();
  let dir = '';
  let client = '';

  async function connect(from: string, host: string, port: number, uid?: number, localAddress?: string): Promise<Answer> {
    const out = await runIn(from, [process.execPath, client, host, String(port), ...(localAddress ? [localAddress] : [])], uid);
    assert.doesNotMatch(out, /^ERROR/, `connect ${host}:${port} from ${from}: ${out}`);
    return JSON.parse(out) as Answer;
  }

  async function capture(annotations: Record<string, string> = {}): Promise<CaptureConfig> {
    const config = captureConfigFromAnnotations(annotations)!;
    // DNS capture is tested with the DNS proxy; here it would only add UDP rules no case exercises.
    config.captureDns = false;
    await applyCaptureRules(buildCaptureRules(config, 4), { netns: pod });
    return config;
  }

  before(async () => {
    dir = scratchDir();
    teardown.fn(() => removeDir(dir));
    const responder = writeResponder(dir);
    client = writeClient(dir);
    for (const ns of [pod, peer]) {
      sh('ip', 'netns', 'add', ns);
      teardown.cmd('ip', 'netns', 'del', ns);
      sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    }
    // Created directly inside the pod namespace so no link ever appears on the host.
    sh('ip', '-n', pod, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer);
    sh('ip', '-n', pod, 'addr', 'add', `${podIp}/24`, 'dev', 'eth0');
    sh('ip', '-n', peer, 'addr', 'add', `${peerIp}/24`, 'dev', 'eth0');
    sh('ip', '-n', peer, 'addr', 'add', `${peerIp2}/24`, 'dev', 'eth0');
    sh('ip', '-n', pod, 'link', 'set', 'eth0', 'up');
    sh('ip', '-n', peer, 'link', 'set', 'eth0', 'up');

    await startIn(pod, [process.execPath, responder, 'proxy', '15001', '15006'], teardown, 1337);
    await startIn(pod, [process.execPath, responder, 'dual-stack-proxy@::', '15002'], teardown, 1337);
    await startIn(pod, [process.execPath, responder, 'app', '9080', '9081'], teardown);
    await startIn(peer, [process.execPath, responder, 'peer', '8080', '8081'], teardown);
  });

  after(() => teardown.run());

  test('without capture rules the peer is reached directly (the fixture itself works)', async () => {
    await removeCaptureRules(4, { netns: pod });
    const a = await connect(pod, peerIp, 8080);
    assert.equal(a.role, 'peer');
    assert.equal(a.dst, null);
  });

  test('outbound TCP goes to 15001 and SO_ORIGINAL_DST gives the address the app dialled', async () => {
    await capture();
    const a = await connect(pod, peerIp, 8080);
    assert.equal(a.role, 'proxy');
    assert.equal(a.port, 15001);
    assert.deepEqual(a.dst, { address: peerIp, port: 8080, family: 4 });
  });

  test('a dual-stack (::) proxy listener on another port reads the IPv4 original destination', async () => {
    const config = captureConfigFromAnnotations({})!;
    await applyCaptureRules(buildCaptureRules({ ...config, captureDns: false, outboundPort: 15002 }, 4), { netns: pod });
    const a = await connect(pod, peerIp, 8081);
    assert.equal(a.role, 'dual-stack-proxy');
    assert.deepEqual(a.dst, { address: peerIp, port: 8081, family: 4 });
  });

  test('inbound TCP to the pod goes to 15006 with the original pod port', async () => {
    await capture();
    const a = await connect(peer, podIp, 9080);
    assert.equal(a.role, 'proxy');
    assert.equal(a.port, 15006);
    assert.deepEqual(a.dst, { address: podIp, port: 9080, family: 4 });
  });

  test("the app's loopback traffic is not captured", async () => {
    await capture();
    const a = await connect(pod, '127.0.0.1', 9080);
    assert.equal(a.role, 'app');
    // conntrack still tracks the flow, so SO_ORIGINAL_DST answers, but with the address as dialled.
    assert.deepEqual(a.dst, { address: '127.0.0.1', port: 9080, family: 4 });
  });

  test("the proxy UID's own outbound connections leave the pod uncaptured", async () => {
    await capture();
    const a = await connect(pod, peerIp, 8080, 1337);
    assert.equal(a.role, 'peer');
  });

  test("the proxy calling its own pod IP is inbound (15006), unless it comes from 127.0.0.6 (Istio's passthrough)", async () => {
    await capture();
    const selfCall = await connect(pod, podIp, 9080, 1337);
    assert.equal(selfCall.role, 'proxy');
    assert.equal(selfCall.port, 15006);
    const passthrough = await connect(pod, podIp, 9080, 1337, '127.0.0.6');
    assert.equal(passthrough.role, 'app');
  });

  test('excludeOutboundPorts lets the app reach that port directly; other ports stay captured', async () => {
    await capture({ 'traffic.sidecar.istio.io/excludeOutboundPorts': '8081' });
    assert.equal((await connect(pod, peerIp, 8081)).role, 'peer');
    assert.equal((await connect(pod, peerIp, 8080)).role, 'proxy');
  });

  test('excludeInboundPorts lets peers reach the app port directly', async () => {
    await capture({ 'traffic.sidecar.istio.io/excludeInboundPorts': '9081' });
    const direct = await connect(peer, podIp, 9081);
    assert.equal(direct.role, 'app');
    assert.equal(direct.port, 9081);
    assert.equal((await connect(peer, podIp, 9080)).role, 'proxy');
  });

  test('includeOutboundIPRanges captures only the listed ranges', async () => {
    await capture({ 'traffic.sidecar.istio.io/includeOutboundIPRanges': `${peerIp2}/32` });
    const captured = await connect(pod, peerIp2, 8080);
    assert.equal(captured.role, 'proxy');
    assert.deepEqual(captured.dst, { address: peerIp2, port: 8080, family: 4 });
    assert.equal((await connect(pod, peerIp, 8080)).role, 'peer');
  });

  test('applying twice leaves one copy of the rules, and removal leaves only the built-in chains', async () => {
    await capture();
    await capture();
    const saved = sh('ip', 'netns', 'exec', pod, 'iptables-save', '-t', 'nat');
    assert.equal(saved.match(/-A OUTPUT .*-j ISTIO_OUTPUT/g)?.length, 1, saved);
    assert.equal(await removeCaptureRules(4, { netns: pod }), true);
    const clean = sh('ip', 'netns', 'exec', pod, 'iptables-save', '-t', 'nat');
    assert.doesNotMatch(clean, /ISTIO/);
    assert.equal(await removeCaptureRules(4, { netns: pod }), false);
  });
});
