/**
 * The one place that loads @peculiar/x509, so every CA module gets it with its crypto provider set.
 *
 * @peculiar/x509 resolves its ASN.1 helpers through tsyringe, which needs a `Reflect.getMetadata`
 * polyfill loaded *before* the library; ES modules evaluate imports in order, so importing
 * `reflect-metadata` first here is enough. Node's WebCrypto is the provider: no native addon, and
 * ECDSA/RSA signing is done by OpenSSL underneath.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509, webcrypto };
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
