/**
 * Private keys as both WebCrypto keys (what @peculiar/x509 signs with) and Node KeyObjects (what
 * `tls` and the validity checks use), plus the signature algorithm that goes with each key type.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SailfinError } from '../common/errors.js';
import { webcrypto, type CryptoKey } from './x509.js';
import { derToPem } from './pem.js';

/**
 * Key types the CA generates. ECDSA P-256 is Sailfin's default: key generation takes about a
 * millisecond against tens to hundreds for RSA-2048 (which matters when every pod start and every
 * rotation makes a key on a shared 2-core box), signatures and handshakes are cheaper, and every TLS
 * stack Sailfin talks to (Node, Envoy, gRPC) accepts it. Istio's own default is RSA-2048, kept as an option.
 */
export type KeyAlgorithm = 'ECDSA_P256' | 'RSA_2048';

export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = 'ECDSA_P256';

/** Parameters @peculiar/x509 needs to sign with a key. */
export interface SignatureAlgorithm {
  name: string;
  hash: string;
}

export interface KeyMaterial {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The same private key for Node (tls.createSecureContext, X509Certificate.checkPrivateKey). */
  keyObject: KeyObject;
  /** PKCS#8 PEM ("PRIVATE KEY"), what gets written to disk and handed to TLS. */
  pem: string;
  signatureAlgorithm: SignatureAlgorithm;
}

const RSA_SIGN = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

function generationParams(alg: KeyAlgorithm) {
  if (alg === 'RSA_2048') return { ...RSA_SIGN, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
  return { name: 'ECDSA', namedCurve: 'P-256' };
}

export async function generateKey(alg: KeyAlgorithm = DEFAULT_KEY_ALGORITHM): Promise<KeyMaterial> {
  const pair = (await webcrypto.subtle.generateKey(generationParams(alg), true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', pair.privateKey);
  const pem = derToPem(pkcs8, 'PRIVATE KEY');
  return {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    keyObject: createPrivateKey(pem),
    pem,
    signatureAlgorithm: alg === 'RSA_2048' ? RSA_SIGN : { name: 'ECDSA', hash: 'SHA-256' },
  };
}

const CURVES: Record<string, { webName: string; hash: string }> = {
  prime256v1: { webName: 'P-256', hash: 'SHA-256' },
  secp384r1: { webName: 'P-384', hash: 'SHA-384' },
  secp521r1: { webName: 'P-521', hash: 'SHA-512' },
};

/**
 * Loads a private key in any PEM form OpenSSL writes (PKCS#8, PKCS#1 "RSA PRIVATE KEY", SEC1
 * "EC PRIVATE KEY"), since plug-in CA keys are made by people with openssl. `source` names the file.
 */
export async function importPrivateKeyPem(text: string, source: string): Promise<KeyMaterial> {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(text);
  } catch (err) {
    throw new SailfinError('schema', `not a readable PEM private key (${(err as Error).message})`, { location: { file: source }, cause: err });
  }
  const type = keyObject.asymmetricKeyType;
  let importParams: { name: string; hash?: string; namedCurve?: string };
  let signatureAlgorithm: SignatureAlgorithm;
  if (type === 'rsa') {
    importParams = RSA_SIGN;
    signatureAlgorithm = RSA_SIGN;
  } else if (type === 'ec') {
    const curve = CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) {
      throw new SailfinError('unsupported', `EC curve "${keyObject.asymmetricKeyDetails?.namedCurve}" is not supported (use P-256, P-384 or P-521)`, {
        location: { file: source },
      });
    }
    importParams = { name: 'ECDSA', namedCurve: curve.webName };
    signatureAlgorithm = { name: 'ECDSA', hash: curve.hash };
  } else {
    throw new SailfinError('unsupported', `${type} keys are not supported for a CA (use RSA or ECDSA)`, { location: { file: source } });
  }
  const pkcs8 = keyObject.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(keyObject).export({ format: 'der', type: 'spki' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, importParams, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, importParams, true, ['verify']);
  return { privateKey, publicKey, keyObject, pem: derToPem(pkcs8, 'PRIVATE KEY'), signatureAlgorithm };
}
