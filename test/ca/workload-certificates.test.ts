import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createSelfSignedRoot } from '../../src/ca/root-ca.js';
import { MeshCa } from '../../src/ca/mesh-ca.js';
import { addCaService } from '../../src/ca/ca-service.js';
import { MeshCallerAuthenticator } from '../../src/ca/caller-authenticator.js';
import { WorkloadTokenIssuer } from '../../src/ca/workload-token.js';
import { controlPlaneCredentials } from '../../src/ca/control-plane-credentials.js';
import { WorkloadCertificates, grpcCertificateSource, acceptChain, type WorkloadCertificate } from '../../src/ca/workload-certificates.js';
import { workloadSdsSecrets, SECRET_TYPE_URL } from '../../src/ca/sds-secrets.js';
import { fromEnvoyJson, toEnvoyJson } from '../../src/xds/envoy-json.js';
import { generateKey } from '../../src/ca/keys.js';
import { createWorkloadCsr } from '../../src/ca/signer.js';
import { mtlsRequest, startMtlsServer, type WorkloadCreds } from './helpers.js';

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no result in ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const id = (sa: string) => ({ trustDomain: 'cluster.local', namespace: 'default', serviceAccount: sa });

async function startControlPlane() {
  const ca = new MeshCa(await createSelfSignedRoot());
  const tokens = WorkloadTokenIssuer.generate();
  const server = new grpc.Server();
  const stats = addCaService(server, ca, new MeshCallerAuthenticator('cluster.local', tokens));
  const tlsCreds = await controlPlaneCredentials(ca);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', tlsCreds.credentials, (e, p) => (e ? reject(e) : resolve(p))));
  return {
    ca,
    tokens,
    stats,
    address: `127.0.0.1:${port}`,
    close: async () => {
      tlsCreds.stop();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}

const creds = (c: WorkloadCertificate): WorkloadCreds => ({ key: { pem: c.keyPem } as WorkloadCreds['key'], certChainPem: c.certChainPem, rootsPem: c.rootsPem, spiffeId: c.spiffeId });

/** A source whose token works only once, so every renewal must authenticate with the certificate. */
function oneShotToken(token: string): () => string | undefined {
  let used = false;
  return () => (used ? undefined : ((used = true), token));
}

test('rotation under constant mTLS traffic: 10 s certificates renewed at half-life, no failed connection in 10 s', async (t) => {
  const cp = await startControlPlane();
  const workloads: WorkloadCertificates[] = [];
  const start = (sa: string) => {
    const w = new WorkloadCertificates({
      identity: id(sa),
      // X.509 times are whole seconds, so a certificate can arrive with up to 1 s of its life gone; at
      // half-life the renewal (key, CSR, a fresh TLS channel to the CA, signing) must finish before
      // the old certificate expires, and must start while more than 1 s is left to authenticate with
      // it (the token is single-use here). 4 s certificates left 0.5 s and 6 s ones 2.5 s, both overrun
      // at load 30-45 on 2 cores; 10 s ones leave 4.5 s.
      ttlMs: 10_000,
      source: grpcCertificateSource({ address: cp.address, caRootsPem: cp.ca.rootsPem, token: oneShotToken(cp.tokens.issue(id(sa))) }),
    });
    workloads.push(w);
    return w;
  };
  const serverCerts = start('httpbin');
  const clientCerts = start('sleep');
  const errors: Error[] = [];
  for (const w of workloads) w.on('error', (e) => errors.push(e));
  try {
    const first = await serverCerts.start();
    await clientCerts.start();
    assert.equal(first.notAfter.getTime() - first.notBefore.getTime(), 10_000);
    const srv = await startMtlsServer(creds(first));
    serverCerts.on('update', (c) => srv.setCredentials(creds(c)));
    const clientSerials = new Set<string>();
    const serverSerials = new Set<string>();
    const failures: string[] = [];
    let requests = 0;
    const until = Date.now() + 10_000;
    const worker = async () => {
      while (Date.now() < until) {
        const c = clientCerts.current!;
        clientSerials.add(c.serialNumber);
        const r = await mtlsRequest(srv.port, creds(c), 'spiffe://cluster.local/ns/default/sa/httpbin');
        requests++;
        if (!r.ok) failures.push(r.error ?? 'failed');
        if (r.serverSerial) serverSerials.add(r.serverSerial);
      }
    };
    await Promise.all([worker(), worker()]);
    await srv.close();
    t.diagnostic(`${requests} connections, ${clientSerials.size} client certs, ${serverSerials.size} server certs, ${cp.stats.issued} issued`);
    // Renewal errors first: a failed renewal is the usual reason connections then fail.
    assert.deepEqual(errors.map((e) => e.message), [], `renewals failed; ${failures.length} of ${requests} connections failed`);
    assert.deepEqual(failures, [], `${failures.length} of ${requests} connections failed`);
    // Traffic throughout the window: at least one connection a second even on a loaded machine.
    assert.ok(requests >= 10, `only ${requests} connections`);
    assert.ok(clientSerials.size >= 2, `client used ${clientSerials.size} certificates`);
    assert.ok(serverSerials.size >= 2, `server presented ${serverSerials.size} certificates`);
    // At least one renewal each in 10 s (nominally at ~5 s), by certificate since the token was single-use.
    assert.ok(cp.stats.issued >= 4, `issued ${cp.stats.issued}`);
    assert.equal(srv.seenClients.every((ids) => ids[0] === 'spiffe://cluster.local/ns/default/sa/sleep'), true);
  } finally {
    for (const w of workloads) w.stop();
    await cp.close();
  }
});

test('a failed renewal keeps the current certificate and reports the error; the next attempt recovers', async () => {
  let fail = false;
  const ca = new MeshCa(await createSelfSignedRoot());
  const w = new WorkloadCertificates({
    identity: id('reviews'),
    retryInitialMs: 50,
    source: async (csr, _ttl) => {
      if (fail) throw new Error('CA unreachable');
      return (await ca.sign({ csrPem: csr, identity: id('reviews') })).certChain;
    },
  });
  try {
    const first = await w.start();
    fail = true;
    const errored = new Promise<Error>((resolve) => w.once('error', resolve));
    assert.equal(await w.rotate(), undefined);
    assert.match((await errored).message, /CA unreachable/);
    assert.equal(w.current, first);
    fail = false;
    const updated = new Promise<WorkloadCertificate>((resolve) => w.once('update', resolve));
    // The backoff retry, not a manual call. (The timer is unref'd by design, so the test holds the loop open.)
    const next = await withTimeout(updated, 5000);
    assert.notEqual(next.serialNumber, first.serialNumber);
    assert.notEqual(next.keyPem, first.keyPem, 'every rotation makes a new key');
  } finally {
    w.stop();
  }
});

test('a CA response for another key or another identity is not accepted', async () => {
  const ca = new MeshCa(await createSelfSignedRoot());
  const mine = await generateKey();
  const theirs = await generateKey();
  const forTheirs = (await ca.sign({ csrPem: await createWorkloadCsr(theirs, id('a')), identity: id('a') })).certChain;
  assert.throws(() => acceptChain(forTheirs, mine.pem, id('a')), /different key/);
  const forB = (await ca.sign({ csrPem: await createWorkloadCsr(mine, id('b')), identity: id('b') })).certChain;
  assert.throws(() => acceptChain(forB, mine.pem, id('a')), /expected spiffe:\/\/cluster\.local\/ns\/default\/sa\/a/);
  assert.equal(acceptChain(forB, mine.pem, id('b')).spiffeId, 'spiffe://cluster.local/ns/default/sa/b');
});

test('SDS secrets `default` and `ROOTCA` are valid Envoy v3 Secrets carrying the chain, key and roots', async () => {
  const ca = new MeshCa(await createSelfSignedRoot());
  const key = await generateKey();
  const chain = (await ca.sign({ csrPem: await createWorkloadCsr(key, id('a')), identity: id('a') })).certChain;
  const cert = acceptChain(chain, key.pem, id('a'));
  const [def, root] = workloadSdsSecrets(cert);
  // Round trip through Envoy's own proto schema: unknown or misspelled fields would throw here.
  const defBack = toEnvoyJson(SECRET_TYPE_URL, fromEnvoyJson(SECRET_TYPE_URL, def as never)) as Record<string, any>;
  assert.equal(defBack.name, 'default');
  assert.equal(Buffer.from(defBack.tls_certificate.certificate_chain.inline_bytes, 'base64').toString(), chain[0]);
  assert.equal(Buffer.from(defBack.tls_certificate.private_key.inline_bytes, 'base64').toString(), key.pem);
  const rootBack = toEnvoyJson(SECRET_TYPE_URL, fromEnvoyJson(SECRET_TYPE_URL, root as never)) as Record<string, any>;
  assert.equal(rootBack.name, 'ROOTCA');
  assert.equal(Buffer.from(rootBack.validation_context.trusted_ca.inline_bytes, 'base64').toString(), ca.rootsPem);
});
