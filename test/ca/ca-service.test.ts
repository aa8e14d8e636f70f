import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { x509 } from '../../src/ca/x509.js';
import { generateKey } from '../../src/ca/keys.js';
import { createSelfSignedRoot } from '../../src/ca/root-ca.js';
import { MeshCa } from '../../src/ca/mesh-ca.js';
import { createWorkloadCsr } from '../../src/ca/signer.js';
import { addCaService, createCaClient, type CaClient } from '../../src/ca/ca-service.js';
import { MeshCallerAuthenticator } from '../../src/ca/caller-authenticator.js';
import { WorkloadTokenIssuer } from '../../src/ca/workload-token.js';
import { controlPlaneCredentials } from '../../src/ca/control-plane-credentials.js';
import { issueFor } from './helpers.js';

const id = (sa: string, ns = 'default') => ({ trustDomain: 'cluster.local', namespace: ns, serviceAccount: sa });

async function startCa() {
  const ca = new MeshCa(await createSelfSignedRoot());
  const tokens = WorkloadTokenIssuer.generate();
  const server = new grpc.Server();
  const stats = addCaService(server, ca, new MeshCallerAuthenticator('cluster.local', tokens));
  const tlsCreds = await controlPlaneCredentials(ca);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', tlsCreds.credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  const plainPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const clients: CaClient[] = [];
  const client = (creds: grpc.ChannelCredentials, p = port) => {
    // Dial the IP but check the name in the serving certificate, as a proxy configured with istiod's name does.
    const c = createCaClient(`127.0.0.1:${p}`, creds, { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' });
    clients.push(c);
    return c;
  };
  const close = async () => {
    for (const c of clients) c.close();
    tlsCreds.stop();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  };
  return { ca, tokens, stats, port, plainPort, client, close };
}

async function grpcCode(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  const err = (await p.then(() => undefined, (e: unknown) => e)) as grpc.ServiceError | undefined;
  assert.ok(err, 'the call succeeded but should have been refused');
  return { code: err.code, details: err.details };
}

test('CreateCertificate over real gRPC/TLS: token bootstrap, then renewal authenticated by the mesh certificate', async () => {
  const cp = await startCa();
  try {
    const roots = Buffer.from(cp.ca.rootsPem);
    const key = await generateKey();
    const csr = await createWorkloadCsr(key, id('reviews'));
    const chain = await cp.client(grpc.credentials.createSsl(roots)).createCertificate(
      { csr, validityDurationSeconds: 3600 },
      { token: cp.tokens.issue(id('reviews')) },
    );
    assert.equal(chain.length, 2);
    assert.equal(chain[1], cp.ca.rootsPem);
    const leaf = new x509.X509Certificate(chain[0]);
    assert.equal(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items[0].value, 'spiffe://cluster.local/ns/default/sa/reviews');
    assert.equal(leaf.notAfter.getTime() - leaf.notBefore.getTime(), 3600 * 1000);

    // Renewal: no token, the certificate just issued is the proof (its identity, not the CSR's, counts).
    const next = await generateKey();
    const mtls = grpc.credentials.createSsl(roots, Buffer.from(key.pem), Buffer.from(chain[0]));
    const renewed = await cp.client(mtls).createCertificate({ csr: await createWorkloadCsr(next, id('reviews')) });
    assert.match(new x509.X509Certificate(renewed[0]).getExtension(x509.SubjectAlternativeNameExtension)!.names.items[0].value, /sa\/reviews$/);
    // With that certificate, asking for another identity is refused.
    const other = await grpcCode(cp.client(mtls).createCertificate({ csr: await createWorkloadCsr(next, id('ratings')) }));
    assert.equal(other.code, grpc.status.INVALID_ARGUMENT);
    assert.match(other.details, /may only get "spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews"/);
    assert.equal(cp.stats.issued, 2);
  } finally {
    await cp.close();
  }
});

test('CreateCertificate refuses unauthenticated, forged, foreign and impersonating callers and tampered CSRs', async () => {
  const cp = await startCa();
  try {
    const roots = Buffer.from(cp.ca.rootsPem);
    const tlsClient = cp.client(grpc.credentials.createSsl(roots));
    const key = await generateKey();
    const csr = await createWorkloadCsr(key, id('a'));
    const token = cp.tokens.issue(id('a'));

    const none = await grpcCode(tlsClient.createCertificate({ csr }));
    assert.equal(none.code, grpc.status.UNAUTHENTICATED);
    const forged = await grpcCode(tlsClient.createCertificate({ csr }, { token: WorkloadTokenIssuer.generate().issue(id('a')) }));
    assert.equal(forged.code, grpc.status.UNAUTHENTICATED);
    assert.match(forged.details, /signature is invalid/);
    const expired = await grpcCode(tlsClient.createCertificate({ csr }, { token: cp.tokens.issue(id('a'), 1000, Date.now() - 5000) }));
    assert.match(expired.details, /expired/);

    // A certificate from another root is not verified, so it proves nothing.
    const foreign = await issueFor(new MeshCa(await createSelfSignedRoot()), 'default', 'a');
    const foreignClient = cp.client(grpc.credentials.createSsl(roots, Buffer.from(foreign.key.pem), Buffer.from(foreign.certChainPem)));
    assert.equal((await grpcCode(foreignClient.createCertificate({ csr }))).code, grpc.status.UNAUTHENTICATED);

    const imp = await grpcCode(tlsClient.createCertificate({ csr, metadata: { ImpersonatedIdentity: 'spiffe://cluster.local/ns/x/sa/y' } }, { token }));
    assert.equal(imp.code, grpc.status.PERMISSION_DENIED);

    const other = await generateKey();
    const mixed = await x509.Pkcs10CertificateRequestGenerator.create({ keys: { privateKey: other.privateKey, publicKey: key.publicKey }, signingAlgorithm: key.signatureAlgorithm });
    const bad = await grpcCode(tlsClient.createCertificate({ csr: mixed.toString('pem') }, { token }));
    assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
    assert.match(bad.details, /does not verify/);

    // The same token and CSR work (control), also on a plaintext port.
    assert.equal((await tlsClient.createCertificate({ csr }, { token })).length, 2);
    const plain = cp.client(grpc.credentials.createInsecure(), cp.plainPort);
    assert.equal((await plain.createCertificate({ csr }, { token })).length, 2);
    assert.equal(cp.stats.refused, 6);
  } finally {
    await cp.close();
  }
});
