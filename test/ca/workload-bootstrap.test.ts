import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SailfinError } from '../../src/common/errors.js';
import { startControlPlaneCa } from '../../src/ca/control-plane-ca.js';
import { writeWorkloadBootstrap, startWorkloadIdentity } from '../../src/ca/workload-bootstrap.js';
import { tempDir } from './helpers.js';

const id = (sa: string) => ({ trustDomain: 'cluster.local', namespace: 'bookinfo', serviceAccount: sa });

test('a pod started with its bootstrap files gets its identity from the control plane\'s TLS port', async () => {
  const state = tempDir();
  const pod = tempDir();
  const cp = await startControlPlaneCa({ stateDir: state.path });
  const server = new grpc.Server();
  cp.attach(server);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', cp.serverCredentials, (e, p) => (e ? reject(e) : resolve(p))));
  try {
    const dir = join(pod.path, 'secrets');
    await writeWorkloadBootstrap(dir, { token: cp.tokens.issue(id('reviews')), rootsPem: cp.ca.rootsPem });
    assert.equal(statSync(join(dir, 'istio-token')).mode & 0o777, 0o600);
    const certs = await startWorkloadIdentity({ identity: id('reviews'), bootstrapDir: dir, caAddress: `127.0.0.1:${port}` });
    try {
      assert.equal(certs.current?.spiffeId, 'spiffe://cluster.local/ns/bookinfo/sa/reviews');
      // A token for another identity in the pod's files does not get this identity a certificate.
      await writeWorkloadBootstrap(dir, { token: cp.tokens.issue(id('ratings')), rootsPem: cp.ca.rootsPem });
      const wrong = await startWorkloadIdentity({ identity: id('reviews'), bootstrapDir: dir, caAddress: `127.0.0.1:${port}` }).then(
        (c) => (c.stop(), undefined),
        (e: unknown) => e as grpc.ServiceError,
      );
      assert.equal(wrong?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(wrong?.details ?? '', /may only get "spiffe:\/\/cluster\.local\/ns\/bookinfo\/sa\/ratings"/);
    } finally {
      certs.stop();
    }
    rmSync(join(dir, 'istio-token'));
    const missing = await startWorkloadIdentity({ identity: id('reviews'), bootstrapDir: dir, caAddress: `127.0.0.1:${port}` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(missing instanceof SailfinError);
    assert.match(missing.describe(), /istio-token: cannot read the bootstrap token/);
  } finally {
    cp.stop();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    state.cleanup();
    pod.cleanup();
  }
});
