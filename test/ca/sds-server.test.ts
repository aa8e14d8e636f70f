import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createSelfSignedRoot } from '../../src/ca/root-ca.js';
import { MeshCa } from '../../src/ca/mesh-ca.js';
import { WorkloadCertificates } from '../../src/ca/workload-certificates.js';
import { addSdsService, sdsServiceDefinition } from '../../src/ca/sds-server.js';
import { SECRET_TYPE_URL } from '../../src/ca/sds-secrets.js';
import { toEnvoyJson } from '../../src/xds/envoy-json.js';
import type { DiscoveryRequest, DiscoveryResponse } from '../../src/xds/ads-service.js';
import { tempDir } from './helpers.js';

const id = { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'productpage' };

/** Reads responses from a stream one at a time, failing after a timeout instead of hanging. */
function reader(call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>) {
  const queue: DiscoveryResponse[] = [];
  const waiters: Array<(r: DiscoveryResponse) => void> = [];
  call.on('data', (r: DiscoveryResponse) => (waiters.length ? waiters.shift()!(r) : queue.push(r)));
  call.on('error', () => {});
  return {
    next(ms = 3000): Promise<DiscoveryResponse> {
      if (queue.length) return Promise.resolve(queue.shift()!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no SDS response')), ms);
        waiters.push((r) => (clearTimeout(timer), resolve(r)));
      });
    },
    pending: () => queue.length,
  };
}

function decode(res: DiscoveryResponse): Map<string, Record<string, any>> {
  return new Map(res.resources.map((a) => {
    const json = toEnvoyJson(SECRET_TYPE_URL, a) as Record<string, any>;
    return [json.name as string, json];
  }));
}

test('SDS over a Unix socket serves default and ROOTCA, pushes each rotation, and handles ACK and NACK', async () => {
  const ca = new MeshCa(await createSelfSignedRoot());
  const certs = new WorkloadCertificates({ identity: id, source: async (csr) => (await ca.sign({ csrPem: csr, identity: id })).certChain });
  await certs.start();
  const dir = tempDir();
  const server = new grpc.Server();
  const sds = addSdsService(server, certs);
  const socket = join(dir.path, 'sds.sock');
  await new Promise<number>((resolve, reject) => server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const Client = grpc.makeGenericClientConstructor(sdsServiceDefinition(), 'SecretDiscoveryService');
  const client = new Client(`unix:${socket}`, grpc.credentials.createInsecure());
  const call = (client as unknown as { StreamSecrets(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> }).StreamSecrets();
  const responses = reader(call);
  try {
    const names = ['ROOTCA', 'default'];
    call.write({ node: { id: 'sidecar~10.0.0.1~productpage.default~default.svc.cluster.local' }, resource_names: names, type_url: SECRET_TYPE_URL });
    const first = await responses.next();
    const secrets = decode(first);
    assert.deepEqual([...secrets.keys()].sort(), names);
    const chain = Buffer.from(secrets.get('default')!.tls_certificate.certificate_chain.inline_bytes, 'base64').toString();
    assert.equal(new X509Certificate(chain).serialNumber, certs.current!.serialNumber);
    assert.equal(first.version_info, certs.current!.serialNumber);
    assert.equal(Buffer.from(secrets.get('ROOTCA')!.validation_context.trusted_ca.inline_bytes, 'base64').toString(), ca.rootsPem);

    // ACK: no new push.
    call.write({ version_info: first.version_info, response_nonce: first.nonce, resource_names: names, type_url: SECRET_TYPE_URL });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(responses.pending(), 0);

    // Rotation: pushed without being asked, with the new certificate.
    const rotated = await certs.rotate();
    const push = await responses.next();
    assert.equal(push.version_info, rotated!.serialNumber);
    assert.notEqual(push.version_info, first.version_info);

    // NACK of that push is counted and does not loop.
    call.write({ version_info: first.version_info, response_nonce: push.nonce, resource_names: names, type_url: SECRET_TYPE_URL, error_detail: { code: 3, message: 'bad key' } });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sds.stats.nacks, 1);
    assert.equal(responses.pending(), 0);

    // Asking for a name it does not hold returns nothing for it (Envoy keeps waiting).
    call.write({ version_info: push.version_info, response_nonce: push.nonce, resource_names: ['default', 'file-cert:/etc/certs/cert.pem~/etc/certs/key.pem'], type_url: SECRET_TYPE_URL });
    assert.deepEqual([...decode(await responses.next()).keys()], ['default']);
  } finally {
    call.end();
    client.close();
    sds.stop();
    certs.stop();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    dir.cleanup();
  }
});
