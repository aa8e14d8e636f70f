import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretProviderImpl } from '../../../src/proxy/tls/secret-provider.js';
import { SailfinError } from '../../../src/common/errors.js';

test('secrets from files and inline data, change callbacks, removal, redacted dump', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secrets-'));
  try {
    writeFileSync(join(dir, 'cert.pem'), 'CERT');
    const p = new SecretProviderImpl();
    const subscribed: string[][] = [];
    p.onSubscribe = (n) => subscribed.push(n);
    const h = p.subscribe('default');
    assert.equal(h.current, undefined);
    let changes = 0;
    const off = h.onChange(() => changes++);
    p.addOrUpdate({ name: 'default', tls_certificate: { certificate_chain: { filename: join(dir, 'cert.pem') }, private_key: { inline_bytes: Buffer.from('KEY').toString('base64') } } }, 's[0]');
    assert.deepEqual(h.current, { kind: 'tls_certificate', certChain: 'CERT', privateKey: 'KEY' });
    assert.equal(changes, 1);
    const dump = p.dump();
    assert.deepEqual(dump.static_secrets, []);
    assert.equal(dump.dynamic_active_secrets.length, 1);
    assert.deepEqual(dump.dynamic_active_secrets[0].secret, {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
      name: 'default',
      tls_certificate: { certificate_chain: { filename: join(dir, 'cert.pem') }, private_key: { inline_string: '[redacted]' } },
    });
    off();
    p.remove('default');
    assert.equal(h.current, undefined);
    assert.equal(changes, 1);
    assert.deepEqual(subscribed, [['default']]);
    assert.throws(
      () => p.addOrUpdate({ name: 'x', tls_certificate: { certificate_chain: { filename: join(dir, 'missing.pem') }, private_key: { inline_string: 'k' } } }, 's[1]'),
      (e: unknown) => e instanceof SailfinError && e.field === 's[1].tls_certificate.certificate_chain.filename',
    );
    assert.throws(() => p.addOrUpdate({ name: 'y', generic_secret: {} }, 's[2]'), (e: unknown) => e instanceof SailfinError && e.field === 's[2].generic_secret');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
