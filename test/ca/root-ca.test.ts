import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SailfinError } from '../../src/common/errors.js';
import { x509 } from '../../src/ca/x509.js';
import { createSelfSignedRoot, loadOrCreateSelfSignedCa } from '../../src/ca/root-ca.js';
import { loadPluginCaFromDir, loadPluginCaFromSecret } from '../../src/ca/plugin-ca.js';
import { MeshCa } from '../../src/ca/mesh-ca.js';
import { issueFor, makeOpensslPluginCa, mtlsRequest, startMtlsServer, tempDir } from './helpers.js';

async function rejects(p: Promise<unknown>, file: RegExp, message: RegExp): Promise<SailfinError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof SailfinError, `expected SailfinError, got ${String(err)}`);
  assert.match(err.describe(), file);
  assert.match(err.message, message);
  return err;
}

test('the self-signed root has Istio\'s shape: O=trust domain, 10 years, P-256, CA with certSign/cRLSign', async () => {
  const bundle = await createSelfSignedRoot({ trustDomain: 'example.org' });
  const cert = new x509.X509Certificate(bundle.signingCert.pem);
  assert.equal(cert.subject, 'O=example.org');
  const years = (cert.notAfter.getTime() - cert.notBefore.getTime()) / (365 * 24 * 3600 * 1000);
  assert.ok(years > 9.99 && years < 10.01, `lifetime ${years} years`);
  assert.equal(bundle.signingCert.cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  assert.equal(bc?.ca, true);
  assert.equal(bc?.critical, true);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  assert.equal(ku?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  assert.equal(bundle.signingCert.cert.verify(bundle.signingCert.cert.publicKey), true);
});

test('the self-signed root is kept in the state dir: a restart loads the same root', async () => {
  const dir = tempDir();
  try {
    const first = await loadOrCreateSelfSignedCa(dir.path);
    const second = await loadOrCreateSelfSignedCa(dir.path);
    assert.equal(second.signingCert.pem, first.signingCert.pem);
    assert.equal(statSync(join(dir.path, 'ca', 'ca-key.pem')).mode & 0o777, 0o600);
    rmSync(join(dir.path, 'ca', 'ca-cert.pem'));
    await rejects(loadOrCreateSelfSignedCa(dir.path), /ca-cert\.pem/, /incomplete/);
  } finally {
    dir.cleanup();
  }
});

test('a plug-in CA made with openssl issues leaves that chain to the user\'s root over real TLS', async () => {
  const dir = tempDir();
  try {
    makeOpensslPluginCa(dir.path);
    const bundle = await loadPluginCaFromDir(dir.path);
    assert.equal(bundle.mode, 'plugin');
    assert.equal(bundle.intermediates.length, 0, 'ca-cert is signed by the root directly; the root is not an intermediate');
    const ca = new MeshCa(bundle);
    const server = await issueFor(ca, 'default', 'httpbin');
    const client = await issueFor(ca, 'default', 'sleep');
    // Trust only the user's root-cert.pem, as a peer outside Sailfin would.
    const userRoot = readFileSync(join(dir.path, 'root-cert.pem'), 'utf8');
    assert.equal(server.rootsPem.trim(), userRoot.trim());
    const srv = await startMtlsServer({ ...server, rootsPem: userRoot });
    try {
      const r = await mtlsRequest(srv.port, { ...client, rootsPem: userRoot }, 'spiffe://cluster.local/ns/default/sa/httpbin');
      assert.equal(r.ok, true, r.error);
      assert.deepEqual(r.clientSawServer, ['spiffe://cluster.local/ns/default/sa/httpbin']);
      assert.deepEqual(srv.seenClients, [['spiffe://cluster.local/ns/default/sa/sleep']]);
    } finally {
      await srv.close();
    }
  } finally {
    dir.cleanup();
  }
});

function secretFrom(dir: string, override: Record<string, string> = {}) {
  const data: Record<string, string> = {};
  for (const f of ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem']) data[f] = Buffer.from(readFileSync(join(dir, f))).toString('base64');
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cacerts', namespace: 'istio-system' }, data: { ...data, ...override } };
}

test('a plug-in CA from a cacerts Secret is checked the same way and errors name the Secret key', async () => {
  const dir = tempDir();
  const other = tempDir();
  try {
    makeOpensslPluginCa(dir.path);
    makeOpensslPluginCa(other.path, 'Other Corp');
    const ok = await loadPluginCaFromSecret(secretFrom(dir.path));
    assert.equal(ok.origin, 'Secret istio-system/cacerts');
    const foreignKey = Buffer.from(readFileSync(join(other.path, 'ca-key.pem'))).toString('base64');
    await rejects(loadPluginCaFromSecret(secretFrom(dir.path, { 'ca-key.pem': foreignKey })), /Secret istio-system\/cacerts: ca-key\.pem/, /does not match/);
    await rejects(loadPluginCaFromSecret(secretFrom(dir.path, { 'root-cert.pem': '%%%' })), /root-cert\.pem/, /base64/);
    const { 'ca-cert.pem': _dropped, ...rest } = secretFrom(dir.path).data;
    await rejects(loadPluginCaFromSecret({ ...secretFrom(dir.path), data: rest }), /ca-cert\.pem/, /missing key/);
  } finally {
    dir.cleanup();
    other.cleanup();
  }
});

test('bad plug-in CAs give errors naming the file and what is wrong, and the previous CA stays in force', async () => {
  const state = tempDir();
  const dir = tempDir();
  const other = tempDir();
  try {
    makeOpensslPluginCa(dir.path);
    makeOpensslPluginCa(other.path, 'Other Corp');
    const ca = await MeshCa.start({ stateDir: state.path });
    const before = ca.bundle;
    const leaf = await issueFor(ca, 'default', 'leaf');
    const rejected: SailfinError[] = [];
    ca.on('rejected', (e) => rejected.push(e));
    const cases: Array<[string, () => void, RegExp, RegExp]> = [
      ['mismatched key', () => writeFileSync(join(dir.path, 'ca-key.pem'), readFileSync(join(other.path, 'ca-key.pem'))), /ca-key\.pem/, /does not match the certificate in .*ca-cert\.pem/],
      ['malformed PEM', () => writeFileSync(join(dir.path, 'ca-cert.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n'), /ca-cert\.pem/, /not a valid X\.509 certificate/],
      ['garbage key', () => writeFileSync(join(dir.path, 'ca-key.pem'), 'hello'), /ca-key\.pem/, /not a readable PEM private key/],
      ['foreign root', () => writeFileSync(join(dir.path, 'root-cert.pem'), readFileSync(join(other.path, 'root-cert.pem'))), /cert-chain\.pem/, /does not chain up to .*root-cert\.pem/],
      ['leaf as CA', () => {
        writeFileSync(join(dir.path, 'ca-cert.pem'), leaf.certChainPem.slice(0, leaf.certChainPem.indexOf('-----END CERTIFICATE-----') + 26));
        writeFileSync(join(dir.path, 'ca-key.pem'), leaf.key.pem);
      }, /ca-cert\.pem/, /not a CA certificate/],
    ];
    for (const [name, breakIt, file, message] of cases) {
      makeOpensslPluginCa(dir.path);
      breakIt();
      const err = await ca.reload(() => loadPluginCaFromDir(dir.path));
      assert.ok(err, `${name}: accepted`);
      assert.match(err.describe(), file, name);
      assert.match(err.message, message, name);
      assert.equal(ca.bundle, before, `${name}: the old CA must stay`);
    }
    assert.equal(rejected.length, cases.length);
    // Still issuing from the old (self-signed) root after the failures.
    const w = await issueFor(ca, 'default', 'a');
    assert.equal(w.rootsPem, before.signingCert.pem);
    makeOpensslPluginCa(dir.path);
    assert.equal(await ca.reload(() => loadPluginCaFromDir(dir.path)), undefined);
    assert.equal(ca.bundle.mode, 'plugin');
  } finally {
    state.cleanup();
    dir.cleanup();
    other.cleanup();
  }
});

test('plug-in CAs of other shapes: RSA PKCS#1 keys with two intermediates, and a root that signs directly', async () => {
  const dir = tempDir();
  const rootOnly = tempDir();
  try {
    makeOpensslPluginCa(dir.path, 'Deep Corp', { rsa: true, middle: true });
    const bundle = await loadPluginCaFromDir(dir.path);
    assert.deepEqual(bundle.intermediates.map((c) => c.cert.subject.split('\n').pop()), ['CN=Middle CA']);
    const ca = new MeshCa(bundle);
    const server = await issueFor(ca, 'default', 'httpbin');
    const client = await issueFor(ca, 'default', 'sleep');
    assert.equal((server.certChainPem.match(/BEGIN CERTIFICATE/g) ?? []).length, 3, 'leaf, ca-cert, middle');
    const srv = await startMtlsServer(server);
    try {
      const r = await mtlsRequest(srv.port, client, 'spiffe://cluster.local/ns/default/sa/httpbin');
      assert.equal(r.ok, true, r.error);
    } finally {
      await srv.close();
    }
    // Without cert-chain.pem the middle certificate is unknown, so no path to the root exists.
    rmSync(join(dir.path, 'cert-chain.pem'));
    await rejects(loadPluginCaFromDir(dir.path), /no cert-chain\.pem/, /does not chain up/);

    // ca-cert.pem = root-cert.pem (a root signing workloads itself), no chain file.
    makeOpensslPluginCa(rootOnly.path);
    writeFileSync(join(rootOnly.path, 'ca-cert.pem'), readFileSync(join(rootOnly.path, 'root-cert.pem')));
    writeFileSync(join(rootOnly.path, 'ca-key.pem'), readFileSync(join(rootOnly.path, 'root-key.pem')));
    rmSync(join(rootOnly.path, 'cert-chain.pem'));
    const direct = new MeshCa(await loadPluginCaFromDir(rootOnly.path));
    const w = await issueFor(direct, 'default', 'a');
    assert.equal((w.certChainPem.match(/BEGIN CERTIFICATE/g) ?? []).length, 1, 'the root is not repeated in the chain');
  } finally {
    dir.cleanup();
    rootOnly.cleanup();
  }
});

test('the cert-manager style layout (tls.crt with its chain, tls.key, ca.crt) is read as a plug-in CA', async () => {
  const dir = tempDir();
  try {
    makeOpensslPluginCa(dir.path, 'CM Corp', { middle: true });
    const p = (f: string) => join(dir.path, f);
    writeFileSync(p('tls.crt'), readFileSync(p('ca-cert.pem'), 'utf8') + readFileSync(p('middle-cert.pem'), 'utf8'));
    writeFileSync(p('tls.key'), readFileSync(p('ca-key.pem')));
    writeFileSync(p('ca.crt'), readFileSync(p('root-cert.pem')));
    const secret = {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cacerts', namespace: 'istio-system' },
      data: Object.fromEntries(['tls.crt', 'tls.key', 'ca.crt'].map((k) => [k, readFileSync(p(k)).toString('base64')])),
    };
    for (const f of ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem']) rmSync(p(f));
    for (const bundle of [await loadPluginCaFromDir(dir.path), await loadPluginCaFromSecret(secret)]) {
      assert.equal(bundle.intermediates.length, 1);
      const ca = new MeshCa(bundle);
      const server = await issueFor(ca, 'default', 'httpbin');
      const srv = await startMtlsServer(server);
      try {
        const r = await mtlsRequest(srv.port, await issueFor(ca, 'default', 'sleep'));
        assert.equal(r.ok, true, r.error);
      } finally {
        await srv.close();
      }
    }
    rmSync(p('ca.crt'));
    await rejects(loadPluginCaFromDir(dir.path), /ca\.crt/, /missing/);
  } finally {
    dir.cleanup();
  }
});
