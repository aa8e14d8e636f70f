/**
 * Small helpers for the gateway and egress e2e files: certificates made with the openssl CLI (as Istio's
 * task pages do), Secrets in the two credential layouts, and curl / openssl s_client run from the host.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  caCrt: string;
  caKey: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** samples/platform without the ingress gateway, for egress tests: one proxy less to start on a loaded machine. */
export function platformWithoutIngress(root: string): string {
  const text = readFileSync(join(root, 'samples', 'platform', 'istio-system.yaml'), 'utf8');
  return text
    .split(/^---$/m)
    .filter((doc) => !doc.includes('istio-ingressgateway'))
    .join('---');
}

/** A root CA (example.com) in a fresh temporary directory. */
export function makeCa(name = 'example'): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-e2e-pki-'));
  // Sidecars run as UID 1337 and read a DestinationRule's caCertificates file themselves.
  chmodSync(dir, 0o755);
  openssl(['req', '-x509', '-sha256', '-nodes', '-days', '2', '-newkey', 'rsa:2048', '-subj', `/O=${name} Inc./CN=${name}.com`, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.crt`], dir);
  return { dir, caCrt: join(dir, `${name}-ca.crt`), caKey: join(dir, `${name}-ca.key`) };
}

/** A leaf for `cn` signed by the CA, with a chosen serial so a test can tell two certificates apart. */
export function makeLeaf(pki: Pki, cn: string, serial: number, file = cn): { crt: string; key: string } {
  const crt = join(pki.dir, `${file}.crt`);
  const key = join(pki.dir, `${file}.key`);
  const ext = join(pki.dir, `${file}.ext`);
  spawnSync('sh', ['-c', `printf 'subjectAltName=DNS:${cn}\\n' > '${ext}'`]);
  openssl(['req', '-out', `${file}.csr`, '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', `/CN=${cn}/O=${cn} organization`], pki.dir);
  openssl(['x509', '-req', '-sha256', '-days', '2', '-CA', pki.caCrt, '-CAkey', pki.caKey, '-set_serial', String(serial), '-in', `${file}.csr`, '-out', crt, '-extfile', ext], pki.dir);
  return { crt, key };
}

const b64 = (path: string) => readFileSync(path).toString('base64');

/** `kubectl create secret tls NAME --cert --key -n istio-system` */
export function tlsSecret(name: string, leaf: { crt: string; key: string }, namespace = 'istio-system'): string {
  return `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: ${namespace}}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: ${b64(leaf.crt)}\n  tls.key: ${b64(leaf.key)}\n`;
}

/** `kubectl create secret generic NAME --from-file=tls.crt --from-file=tls.key --from-file=ca.crt` (MUTUAL). */
export function genericSecret(name: string, leaf: { crt: string; key: string }, caCrt: string, namespace = 'istio-system'): string {
  return `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}, namespace: ${namespace}}\ntype: Opaque\ndata:\n  tls.crt: ${b64(leaf.crt)}\n  tls.key: ${b64(leaf.key)}\n  ca.crt: ${b64(caCrt)}\n`;
}

/** curl from the host; returns the status code ('000' when the connection failed) and the body. */
export function hostCurl(args: string[], timeoutS = 10): { code: string; body: string; exit: number | null; stderr: string } {
  const r = spawnSync('curl', ['-s', '-S', '-m', String(timeoutS), '-w', '\n%{http_code}', ...args], { encoding: 'utf8', timeout: (timeoutS + 5) * 1000 });
  const lines = (r.stdout ?? '').split('\n');
  return { code: lines.pop() ?? '', body: lines.join('\n'), exit: r.status, stderr: r.stderr ?? '' };
}

/** The peer certificate's subject and serial as `openssl s_client` sees them, or undefined if no handshake. */
export function serverCert(port: number, sni: string | undefined): { subject: string; serial: string } | undefined {
  const sniArgs = sni ? ['-servername', sni] : ['-noservername'];
  const r = spawnSync('sh', ['-c', `openssl s_client -connect 127.0.0.1:${port} ${sniArgs.join(' ')} </dev/null 2>/dev/null | openssl x509 -noout -subject -serial`], { encoding: 'utf8', timeout: 15_000 });
  const subject = /subject=\s*(.*)/.exec(r.stdout ?? '')?.[1];
  const serial = /serial=\s*(.*)/.exec(r.stdout ?? '')?.[1];
  return subject && serial ? { subject, serial } : undefined;
}
