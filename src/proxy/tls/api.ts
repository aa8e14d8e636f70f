/**
 * Secrets (certificates, keys, trusted CAs) as the TLS contexts consume them: from inline config,
 * files, or SDS (the control plane's CA). A context subscribes to a secret by name and rebuilds
 * its SecureContext when the secret changes, so new handshakes use the new certificate while
 * established connections are untouched.
 */
export interface TlsCertificateSecret {
  readonly kind: 'tls_certificate';
  readonly certChain: string; // PEM
  readonly privateKey: string; // PEM
}

export interface ValidationContextSecret {
  readonly kind: 'validation_context';
  readonly trustedCa: string; // PEM bundle
  /** Envoy's match_subject_alt_names / match_typed_subject_alt_names, compiled by the TLS code. */
  readonly matchSubjectAltNames?: readonly unknown[];
}

export type Secret = TlsCertificateSecret | ValidationContextSecret;

export interface SecretHandle<T extends Secret = Secret> {
  /** The current value, or undefined while the secret has not arrived (no handshake can use it yet). */
  readonly current: T | undefined;
  /** Called after each change of `current`; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export interface SecretProvider {
  /** Named secrets from static_resources.secrets or SDS (`sds_config`). */
  subscribe<T extends Secret = Secret>(name: string): SecretHandle<T>;
}
