/**
 * Test certificates made with the openssl command: a CA and leaves signed by it with DNS and
 * SPIFFE URI SANs. Made once per process in a temp dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Leaf {
  cert: string;
  key: string;
}

export interface TestPki {
  ca: string;
  caKey: string;
  leaf(name: string, sans: string[]): Leaf;
  dir: string;
  cleanup(): void;
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-pki-'));
  const ossl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/O=sailfin-test/CN=root');
  let n = 0;
  return {
    dir,
    ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    caKey: readFileSync(join(dir, 'ca.key'), 'utf8'),
    leaf(name: string, sans: string[]): Leaf {
      const id = `leaf${n++}`;
      writeFileSync(join(dir, `${id}.ext`), `subjectAltName=${sans.join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n`);
      ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${id}.key`, '-out', `${id}.csr`, '-subj', `/CN=${name}`);
      ossl('x509', '-req', '-in', `${id}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${id}.pem`, '-days', '2', '-extfile', `${id}.ext`);
      return { cert: readFileSync(join(dir, `${id}.pem`), 'utf8'), key: readFileSync(join(dir, `${id}.key`), 'utf8') };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
