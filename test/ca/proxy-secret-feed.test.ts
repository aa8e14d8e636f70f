import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createSelfSignedRoot } from '../../src/ca/root-ca.js';
import { MeshCa } from '../../src/ca/mesh-ca.js';
import { WorkloadCertificates, type CertificateSource, type WorkloadCertificate } from '../../src/ca/workload-certificates.js';
import { feedWorkloadSecrets } from '../../src/ca/proxy-secret-feed.js';
import { SecretProviderImpl } from '../../src/proxy/tls/secret-provider.js';
import { DownstreamTls, DOWNSTREAM_TLS_TYPE } from '../../src/proxy/tls/downstream-context.js';
import { spiffeUrisFromSubjectAltName } from '../../src/ca/spiffe.js';
import { mtlsRequest, type WorkloadCreds } from './helpers.js';

const id = (sa: string) => ({ trustDomain: 'cluster.local', namespace: 'default', serviceAccount: sa });
const creds = (c: WorkloadCertificate): WorkloadCreds => ({ key: { pem: c.keyPem } as WorkloadCreds['key'], certChainPem: c.certChainPem, rootsPem: c.rootsPem, spiffeId: c.spiffeId });

/** The inbound TLS context Istio gives a sidecar: SDS `default` to present, SDS `ROOTCA` to verify clients. */
const ISTIO_MUTUAL_INBOUND = {
  '@type': DOWNSTREAM_TLS_TYPE,
  require_client_certificate: true,
  common_tls_context: {
    tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { ads: {} } }],
    validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { ads: {} } },
  },
};

test('the proxy\'s own TLS termination follows rotating SDS default/ROOTCA from the workload\'s certificates, failing closed before they arrive', async (t) => {
  const ca = new MeshCa(await createSelfSignedRoot());
  // 6 s certificates renew at 3 s: short enough to see rotations, long enough that a loaded machine
  // renews before they expire.
  const source = (sa: string): CertificateSource => async (csr) => (await ca.sign({ csrPem: csr, identity: id(sa), ttlMs: 6000 })).certChain;
  const serverCerts = new WorkloadCertificates({ identity: id('httpbin'), source: source('httpbin') });
  const clientCerts = new WorkloadCertificates({ identity: id('sleep'), source: source('sleep') });
  const secrets = new SecretProviderImpl();
  const tls = new DownstreamTls(ISTIO_MUTUAL_INBOUND, secrets, 'inbound');
  const seen: string[] = [];
  const server = net.createServer((raw) => {
    const socket = tls.wrap(raw);
    if (!socket) return raw.destroy(); // no certificate yet: refuse rather than serve without mTLS
    socket.on('secure', () => {
      seen.push(spiffeUrisFromSubjectAltName(socket.getPeerCertificate().subjectaltname)[0]);
      socket.end('ok');
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  let stopFeed = () => {};
  try {
    const client = await clientCerts.start();
    assert.equal(tls.ready(), false);
    const early = await mtlsRequest(port, creds(client));
    assert.equal(early.ok, false, 'the listener must not accept before its certificate arrives');

    await serverCerts.start();
    stopFeed = feedWorkloadSecrets(serverCerts, secrets);
    assert.equal(tls.ready(), true);

    const serverSerials = new Set<string>();
    const failures: string[] = [];
    let n = 0;
    const until = Date.now() + 9000;
    while (Date.now() < until) {
      const r = await mtlsRequest(port, creds(clientCerts.current!), 'spiffe://cluster.local/ns/default/sa/httpbin');
      n++;
      if (!r.ok) failures.push(r.error ?? 'failed');
      if (r.serverSerial) serverSerials.add(r.serverSerial);
    }
    t.diagnostic(`${n} connections, ${serverSerials.size} server certificates`);
    assert.deepEqual(failures, []);
    assert.ok(serverSerials.size >= 2, `the proxy presented ${serverSerials.size} certificates`);
    assert.ok(seen.every((s) => s === 'spiffe://cluster.local/ns/default/sa/sleep'));
    // The config dump shows both secrets with the key redacted.
    const { static_secrets, dynamic_active_secrets } = secrets.dump();
    const all = [...static_secrets, ...dynamic_active_secrets];
    assert.deepEqual(all.map((d) => d.name).sort(), ['ROOTCA', 'default']);
    assert.doesNotMatch(JSON.stringify(all), /PRIVATE KEY/);
  } finally {
    stopFeed();
    serverCerts.stop();
    clientCerts.stop();
    tls.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
