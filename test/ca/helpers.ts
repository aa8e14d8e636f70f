/**
 * Shared pieces for the CA tests: temporary directories, a plug-in CA made with openssl the way a
 * user would make one, and a real TLS handshake between two parties holding mesh certificates.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { generateKey, type KeyMaterial } from '../../src/ca/keys.js';
import type { MeshCa } from '../../src/ca/mesh-ca.js';
import { createWorkloadCsr } from '../../src/ca/signer.js';
import { spiffeUrisFromSubjectAltName, type WorkloadIdentity } from '../../src/ca/spiffe.js';

export function tempDir(prefix = 'sailfin-ca-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

function openssl(cwd: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Root → intermediate in Istio's cacerts layout, made with openssl: EC keys in SEC1 form
 * ("EC PRIVATE KEY"), cert-chain.pem = intermediate + root as Istio's tooling writes it.
 */
export function makeOpensslPluginCa(dir: string, org = 'Example Corp', opts: { rsa?: boolean; middle?: boolean } = {}): void {
  const ext = join(dir, 'ca.ext');
  writeFileSync(ext, 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\n');
  const genKey = (out: string) =>
    opts.rsa
      ? openssl(dir, 'genrsa', '-traditional', '-out', out, '2048') // PKCS#1 "RSA PRIVATE KEY", as older guides make
      : openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', out); // SEC1 "EC PRIVATE KEY"
  const signCa = (csrKey: string, cn: string, issuerCert: string, issuerKey: string, out: string) => {
    openssl(dir, 'req', '-new', '-key', csrKey, '-subj', `/O=${org}/CN=${cn}`, '-out', 'ca.csr');
    openssl(dir, 'x509', '-req', '-in', 'ca.csr', '-CA', issuerCert, '-CAkey', issuerKey, '-CAcreateserial', '-days', '730', '-extfile', 'ca.ext', '-out', out);
  };
  genKey('root-key.pem');
  openssl(dir, 'req', '-x509', '-new', '-key', 'root-key.pem', '-subj', `/O=${org}/CN=Root CA`, '-days', '3650', '-out', 'root-cert.pem',
    '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  let parentCert = 'root-cert.pem';
  let parentKey = 'root-key.pem';
  let chainTail = readFileSync(join(dir, 'root-cert.pem'), 'utf8');
  if (opts.middle) {
    genKey('middle-key.pem');
    signCa('middle-key.pem', 'Middle CA', parentCert, parentKey, 'middle-cert.pem');
    parentCert = 'middle-cert.pem';
    parentKey = 'middle-key.pem';
    chainTail = readFileSync(join(dir, 'middle-cert.pem'), 'utf8') + chainTail;
  }
  genKey('ca-key.pem');
  signCa('ca-key.pem', 'Intermediate CA', parentCert, parentKey, 'ca-cert.pem');
  writeFileSync(join(dir, 'cert-chain.pem'), readFileSync(join(dir, 'ca-cert.pem'), 'utf8') + chainTail);
}

export interface WorkloadCreds {
  key: KeyMaterial;
  certChainPem: string;
  rootsPem: string;
  spiffeId: string;
}

/** A workload key and its certificate from `ca` (the same path the CA service takes, minus gRPC). */
export async function issueFor(ca: MeshCa, ns: string, sa: string, opts: { ttlMs?: number; notBefore?: Date } = {}): Promise<WorkloadCreds> {
  const identity: WorkloadIdentity = { trustDomain: ca.trustDomain, namespace: ns, serviceAccount: sa };
  const key = await generateKey();
  const issued = await ca.sign({ csrPem: await createWorkloadCsr(key, identity), identity, ...opts });
  return { key, certChainPem: issued.certChain.slice(0, -1).join(''), rootsPem: issued.certChain[issued.certChain.length - 1], spiffeId: issued.spiffeId };
}

export interface HandshakeResult {
  ok: boolean;
  error?: string;
  /** SPIFFE IDs each side read from the other's certificate. */
  serverSawClient?: string[];
  clientSawServer?: string[];
  /** Serial of the certificate the server presented. */
  serverSerial?: string;
}

/** Mesh-style verification: chain to the given roots, then the peer's SPIFFE URI instead of a host name. */
function spiffeCheck(expected: string | undefined) {
  return (_host: string, cert: tls.PeerCertificate): Error | undefined => {
    if (!expected) return undefined;
    const ids = spiffeUrisFromSubjectAltName(cert.subjectaltname);
    return ids.includes(expected) ? undefined : new Error(`server identity ${ids.join(',') || '(none)'} is not ${expected}`);
  };
}

export interface TlsServerHandle {
  port: number;
  seenClients: string[][];
  setCredentials(creds: WorkloadCreds): void;
  close(): Promise<void>;
}

/** A TLS server requiring client certificates from the mesh roots; answers "ok" to each verified client. */
export async function startMtlsServer(creds: WorkloadCreds): Promise<TlsServerHandle> {
  const seenClients: string[][] = [];
  const server = tls.createServer({ key: creds.key.pem, cert: creds.certChainPem, ca: creds.rootsPem, requestCert: true, rejectUnauthorized: true }, (socket) => {
    seenClients.push(spiffeUrisFromSubjectAltName(socket.getPeerCertificate().subjectaltname));
    socket.end('ok');
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    seenClients,
    setCredentials(c) {
      server.setSecureContext({ key: c.key.pem, cert: c.certChainPem, ca: c.rootsPem });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One client connection: resolves ok only when the server's "ok" arrives (TLS 1.3 reports a refused client cert after the handshake). */
export function mtlsRequest(port: number, client: Partial<WorkloadCreds> & { rootsPem: string }, expectServer?: string, timeoutMs = 3000): Promise<HandshakeResult> {
  return new Promise((resolve) => {
    let data = '';
    let settled = false;
    let clientSawServer: string[] | undefined;
    let serverSerial: string | undefined;
    const done = (r: HandshakeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...r, clientSawServer, ...(serverSerial ? { serverSerial } : {}) });
    };
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'mesh.test',
      ca: client.rootsPem,
      key: client.key?.pem,
      cert: client.certChainPem,
      checkServerIdentity: spiffeCheck(expectServer),
    });
    const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), timeoutMs);
    socket.on('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      clientSawServer = spiffeUrisFromSubjectAltName(peer.subjectaltname);
      serverSerial = peer.serialNumber;
    });
    socket.on('data', (d) => (data += d.toString()));
    socket.on('end', () => done(data === 'ok' ? { ok: true } : { ok: false, error: `closed after "${data}"` }));
    socket.on('error', (err) => done({ ok: false, error: err.message }));
    socket.on('close', () => done(data === 'ok' ? { ok: true } : { ok: false, error: 'closed' }));
  });
}
