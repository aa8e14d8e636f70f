import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startControlPlaneCa, type ControlPlaneCa } from '../../src/ca/control-plane-ca.js';
import { nextCaOutcome } from '../../src/ca/cacerts-watch.js';
import { WorkloadCertificates, grpcCertificateSource } from '../../src/ca/workload-certificates.js';
import { summarizeChain, formatSecretsTable } from '../../src/ca/cert-info.js';
import { createSelfSignedRoot } from '../../src/ca/root-ca.js';
import { MeshCa } from '../../src/ca/mesh-ca.js';
import type { LoadedResource } from '../../src/config/resource.js';
import { issueFor, makeOpensslPluginCa, tempDir } from './helpers.js';

const id = (sa: string) => ({ trustDomain: 'cluster.local', namespace: 'default', serviceAccount: sa });

async function serve(cp: ControlPlaneCa): Promise<{ address: string; close: () => Promise<void> }> {
  const server = new grpc.Server();
  cp.attach(server);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', cp.serverCredentials, (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

test('a restarted control plane keeps its root and its tokens; a workload renews across the restart', async () => {
  const state = tempDir();
  let cp = await startControlPlaneCa({ stateDir: state.path });
  let srv = await serve(cp);
  const token = cp.tokens.issue(id('ratings'));
  const rootBefore = cp.ca.rootsPem;
  let address = srv.address;
  const w = new WorkloadCertificates({
    identity: id('ratings'),
    source: (csr, ttl, current) => grpcCertificateSource({ address, caRootsPem: rootBefore, token: () => token })(csr, ttl, current),
  });
  try {
    const first = await w.start();
    assert.equal(first.spiffeId, 'spiffe://cluster.local/ns/default/sa/ratings');
    await srv.close();
    cp.stop();
    cp = await startControlPlaneCa({ stateDir: state.path });
    srv = await serve(cp);
    address = srv.address;
    assert.equal(cp.ca.rootsPem, rootBefore, 'same root after restart');
    assert.equal(cp.tokens.verify(token).serviceAccount, 'ratings', 'tokens issued before the restart still verify');
    const renewed = await w.rotate();
    assert.ok(renewed, 'renewal after restart failed');
    assert.notEqual(renewed.serialNumber, first.serialNumber);
    const summary = summarizeChain(renewed.certChainPem, renewed.rootsPem);
    assert.equal(summary.chainsToRoot, true);
    assert.deepEqual(summary.chain[0].spiffeIds, ['spiffe://cluster.local/ns/default/sa/ratings']);
    assert.ok(summary.expiresInSeconds! > 23 * 3600 && summary.expiresInSeconds! <= 24 * 3600);
    assert.equal(summary.roots[0].subject, 'O=cluster.local');
  } finally {
    w.stop();
    await srv.close();
    cp.stop();
    state.cleanup();
  }
});

function cacertsEvent(dir: string, override: Record<string, string> = {}): LoadedResource {
  const data: Record<string, string> = {};
  for (const f of ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem']) data[f] = readFileSync(join(dir, f)).toString('base64');
  return {
    resource: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cacerts', namespace: 'istio-system' }, data: { ...data, ...override } },
    source: { file: join(dir, 'cacerts.yaml') },
  };
}

test('the cacerts Secret in the config store replaces the CA when valid and is refused (old CA kept) when not', async () => {
  const state = tempDir();
  const good = tempDir();
  const other = tempDir();
  const cp = await startControlPlaneCa({ stateDir: state.path });
  try {
    makeOpensslPluginCa(good.path);
    makeOpensslPluginCa(other.path, 'Other Corp');
    const selfSigned = cp.ca.bundle;
    // Another Secret, or another namespace, is not the CA.
    cp.onConfig([{ type: 'upsert', resource: { ...cacertsEvent(good.path), resource: { ...cacertsEvent(good.path).resource, metadata: { name: 'cacerts', namespace: 'default' } } } }]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(cp.ca.bundle, selfSigned);

    let outcome = nextCaOutcome(cp.ca);
    const wrongKey = readFileSync(join(other.path, 'ca-key.pem')).toString('base64');
    cp.onConfig([{ type: 'upsert', resource: cacertsEvent(good.path, { 'ca-key.pem': wrongKey }) }]);
    await outcome;
    assert.equal(cp.ca.bundle, selfSigned, 'a mismatched key must not replace the CA');

    outcome = nextCaOutcome(cp.ca);
    cp.onConfig([{ type: 'upsert', resource: cacertsEvent(good.path) }]);
    await outcome;
    assert.equal(cp.ca.bundle.mode, 'plugin');
    assert.equal(cp.ca.rootsPem.trim(), readFileSync(join(good.path, 'root-cert.pem'), 'utf8').trim());

    // Deleting the Secret keeps the plug-in CA in force.
    cp.onConfig([{ type: 'delete', resource: cacertsEvent(good.path) }]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(cp.ca.bundle.mode, 'plugin');
  } finally {
    cp.stop();
    state.cleanup();
    good.cleanup();
    other.cleanup();
  }
});

test('the secrets table reads like istioctl proxy-config secret, with validity judged now', async () => {
  const ca = new MeshCa(await createSelfSignedRoot());
  const w = await issueFor(ca, 'default', 'a', { ttlMs: 3600_000 });
  const table = formatSecretsTable([{ name: 'default', certChainPem: w.certChainPem }, { name: 'ROOTCA', trustedCaPem: w.rootsPem }]);
  const lines = table.trim().split('\n');
  assert.match(lines[0], /^RESOURCE NAME\s+TYPE\s+STATUS\s+VALID CERT\s+SERIAL NUMBER\s+NOT AFTER\s+NOT BEFORE$/);
  assert.match(lines[1], /^default\s+Cert Chain\s+ACTIVE\s+true\s+[0-9a-f]+\s+\d{4}-/);
  assert.match(lines[2], /^ROOTCA\s+CA\s+ACTIVE\s+true\s+/);
  const later = formatSecretsTable([{ name: 'default', certChainPem: w.certChainPem }], Date.now() + 2 * 3600_000);
  assert.match(later.split('\n')[1], /ACTIVE\s+false/);
});
