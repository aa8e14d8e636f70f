import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SailfinError } from '../../src/common/errors.js';
import { x509 } from '../../src/ca/x509.js';
import { generateKey } from '../../src/ca/keys.js';
import { createSelfSignedRoot } from '../../src/ca/root-ca.js';
import { MeshCa } from '../../src/ca/mesh-ca.js';
import { createWorkloadCsr, effectiveTtlMs } from '../../src/ca/signer.js';
import { issueFor, mtlsRequest, startMtlsServer } from './helpers.js';

const id = (sa: string) => ({ trustDomain: 'cluster.local', namespace: 'default', serviceAccount: sa });
const HOUR = 3600 * 1000;

async function meshCa(ttl?: { defaultTtlMs?: number; maxTtlMs?: number }) {
  return new MeshCa(await createSelfSignedRoot(), { ttl });
}

test('mesh-issued certificates: mutual TLS is accepted and each side reads the other\'s SPIFFE ID', async () => {
  const ca = await meshCa();
  const server = await issueFor(ca, 'default', 'httpbin');
  const client = await issueFor(ca, 'bar', 'sleep');
  const srv = await startMtlsServer(server);
  try {
    const r = await mtlsRequest(srv.port, client, 'spiffe://cluster.local/ns/default/sa/httpbin');
    assert.equal(r.ok, true, r.error);
    assert.deepEqual(r.clientSawServer, ['spiffe://cluster.local/ns/default/sa/httpbin']);
    assert.deepEqual(srv.seenClients, [['spiffe://cluster.local/ns/bar/sa/sleep']]);
    // The client refuses a server whose identity is not the one expected.
    const wrong = await mtlsRequest(srv.port, client, 'spiffe://cluster.local/ns/default/sa/other');
    assert.equal(wrong.ok, false);
    assert.match(wrong.error ?? '', /is not spiffe:\/\/cluster\.local\/ns\/default\/sa\/other/);
  } finally {
    await srv.close();
  }
});

test('a client certificate from a foreign root, an expired one, or none at all is refused', async () => {
  const ca = await meshCa();
  const foreign = await meshCa();
  const server = await issueFor(ca, 'default', 'httpbin');
  const srv = await startMtlsServer(server);
  try {
    const stranger = await issueFor(foreign, 'default', 'sleep');
    const r1 = await mtlsRequest(srv.port, { ...stranger, rootsPem: server.rootsPem });
    assert.equal(r1.ok, false, 'foreign root accepted');
    const expired = await issueFor(ca, 'default', 'sleep', { notBefore: new Date(Date.now() - 2 * HOUR), ttlMs: HOUR });
    const r2 = await mtlsRequest(srv.port, expired);
    assert.equal(r2.ok, false, 'expired cert accepted');
    const r3 = await mtlsRequest(srv.port, { rootsPem: server.rootsPem });
    assert.equal(r3.ok, false, 'no client cert accepted');
    const good = await issueFor(ca, 'default', 'sleep');
    assert.equal((await mtlsRequest(srv.port, good)).ok, true, 'the control case must pass');
    assert.equal(srv.seenClients.length, 1);
  } finally {
    await srv.close();
  }
});

test('the leaf carries only the caller\'s SPIFFE URI, serverAuth+clientAuth, not a CA, in Istio\'s chain order', async () => {
  const ca = await meshCa();
  const key = await generateKey();
  const issued = await ca.sign({ csrPem: await createWorkloadCsr(key, id('reviews')), identity: id('reviews') });
  assert.equal(issued.certChain.length, 2, 'self-signed: leaf then root');
  assert.equal(issued.certChain[1], ca.rootsPem);
  const leaf = new x509.X509Certificate(issued.certChain[0]);
  assert.equal(leaf.subject, '');
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
  assert.deepEqual(san?.names.toJSON(), [{ type: 'url', value: 'spiffe://cluster.local/ns/default/sa/reviews' }]);
  assert.equal(san?.critical, true);
  assert.deepEqual([...(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
  assert.equal(leaf.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  assert.equal(Math.round((leaf.notAfter.getTime() - leaf.notBefore.getTime()) / HOUR), 24);
  assert.equal(leaf.issuer, 'O=cluster.local');
});

test('TTL: the default is 24h, a request is honoured up to the max and capped above it', async () => {
  const policy = { defaultTtlMs: 24 * HOUR, maxTtlMs: 48 * HOUR };
  assert.equal(effectiveTtlMs(undefined, policy), 24 * HOUR);
  assert.equal(effectiveTtlMs(0, policy), 24 * HOUR);
  assert.equal(effectiveTtlMs(HOUR, policy), HOUR);
  assert.equal(effectiveTtlMs(1000 * HOUR, policy), 48 * HOUR);
  const ca = await meshCa(policy);
  const key = await generateKey();
  const issued = await ca.sign({ csrPem: await createWorkloadCsr(key, id('a')), identity: id('a'), ttlMs: 1000 * HOUR });
  assert.equal(issued.notAfter.getTime() - issued.notBefore.getTime(), 48 * HOUR);
});

async function refusedWith(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof SailfinError, `expected a refusal, got ${String(err)}`);
  assert.match(err.message, message);
}

test('a CSR signed by another key, a tampered CSR, a foreign SAN or a foreign trust domain is refused', async () => {
  const ca = await meshCa();
  const a = await generateKey();
  const b = await generateKey();
  // The CSR carries a's public key but is signed with b's private key.
  const mixed = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: { privateKey: b.privateKey, publicKey: a.publicKey },
    signingAlgorithm: a.signatureAlgorithm,
  });
  await refusedWith(ca.sign({ csrPem: mixed.toString('pem'), identity: id('a') }), /does not verify/);

  // Flip one byte of the signed body (inside the SAN string).
  const good = await createWorkloadCsr(a, id('a'));
  const der = Buffer.from(new x509.Pkcs10CertificateRequest(good).rawData);
  const at = der.indexOf(Buffer.from('sa/a'));
  assert.ok(at > 0);
  der[at + 3] = 'b'.charCodeAt(0);
  const tampered = new x509.Pkcs10CertificateRequest(der).toString('pem');
  await refusedWith(ca.sign({ csrPem: tampered, identity: id('a') }), /does not verify/);

  await refusedWith(ca.sign({ csrPem: 'not a csr', identity: id('a') }), /PKCS#10/);
  // A CSR asking for another identity than the caller's.
  await refusedWith(ca.sign({ csrPem: good, identity: id('b') }), /asks for url name "spiffe:\/\/cluster\.local\/ns\/default\/sa\/a"/);
  const dns = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: { privateKey: a.privateKey, publicKey: a.publicKey },
    signingAlgorithm: a.signatureAlgorithm,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'bank.example.com' }])],
  });
  await refusedWith(ca.sign({ csrPem: dns.toString('pem'), identity: id('a') }), /dns name "bank\.example\.com"/);
  await refusedWith(ca.sign({ csrPem: good, identity: { ...id('a'), trustDomain: 'evil.org' } }), /trust domain/);
  // And the untampered CSR is accepted (control).
  assert.equal((await ca.sign({ csrPem: good, identity: id('a') })).spiffeId, 'spiffe://cluster.local/ns/default/sa/a');
});
