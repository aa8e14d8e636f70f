/** A throwaway CA and leaf certificates (with DNS and SPIFFE URI SANs) for the upstream TLS tests. */
import { x509 } from '../../../src/ca/x509.js';
import { generateKey, type KeyMaterial } from '../../../src/ca/keys.js';

export interface Pair {
  cert: string;
  key: string;
}

export interface TestPki {
  caPem: string;
  issue(sans: { dns?: string[]; uri?: string[] }): Promise<Pair>;
}

export async function makePki(name = 'Test CA'): Promise<TestPki> {
  const caKey = await generateKey();
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    keys: { privateKey: caKey.privateKey, publicKey: caKey.publicKey },
    signingAlgorithm: caKey.signatureAlgorithm,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  let serial = 2;
  return {
    caPem: ca.toString('pem'),
    async issue(sans) {
      const key: KeyMaterial = await generateKey();
      const names = [...(sans.dns ?? []).map((value) => ({ type: 'dns' as const, value })), ...(sans.uri ?? []).map((value) => ({ type: 'url' as const, value }))];
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16).padStart(2, '0'),
        subject: 'CN=leaf',
        issuer: ca.subject,
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 86_400_000),
        publicKey: key.publicKey,
        signingKey: caKey.privateKey,
        signingAlgorithm: caKey.signatureAlgorithm,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          new x509.SubjectAlternativeNameExtension(names),
        ],
      });
      return { cert: cert.toString('pem'), key: key.pem };
    },
  };
}
