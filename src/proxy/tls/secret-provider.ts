/**
 * The proxy's secrets by name: static_resources.secrets at start, and whatever SDS (via the ADS client)
 * pushes later. A TLS context subscribes by name and is told when the secret changes, so new handshakes
 * pick up a rotated certificate while established connections keep theirs.
 */
import { assertKnownFields, configError, isObject, join, optArray, optObject, reqString, type JsonObject } from '../config/fields.js';
import type { Secret, SecretHandle, SecretProvider } from './api.js';
import { readDataSource } from './data-source.js';

class Slot implements SecretHandle {
  current: Secret | undefined;
  json: JsonObject | undefined;
  static = false;
  version = '';
  lastUpdated = new Date();
  private readonly listeners = new Set<() => void>();

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(value: Secret | undefined, json: JsonObject | undefined): void {
    this.current = value;
    this.json = json;
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch {
        // One context failing to rebuild must not stop the others from getting the new secret.
      }
    }
  }
}

/** Compiles an envoy.extensions.transport_sockets.tls.v3.Secret (or its inline tls_certificate / validation_context). */
export function compileSecret(json: JsonObject, path: string): Secret {
  assertKnownFields(json, ['name', 'tls_certificate', 'validation_context'], path);
  const cert = optObject(json, 'tls_certificate', path);
  if (cert) return compileTlsCertificate(cert, join(path, 'tls_certificate'));
  const vc = optObject(json, 'validation_context', path);
  if (vc) return compileValidationContext(vc, join(path, 'validation_context'));
  throw configError(path, 'needs tls_certificate or validation_context');
}

export function compileTlsCertificate(json: JsonObject, path: string): Secret {
  assertKnownFields(json, ['certificate_chain', 'private_key'], path);
  const chain = optObject(json, 'certificate_chain', path);
  const key = optObject(json, 'private_key', path);
  if (!chain) throw configError(join(path, 'certificate_chain'), 'required field is missing');
  if (!key) throw configError(join(path, 'private_key'), 'required field is missing');
  return { kind: 'tls_certificate', certChain: readDataSource(chain, join(path, 'certificate_chain')), privateKey: readDataSource(key, join(path, 'private_key')) };
}

export function compileValidationContext(json: JsonObject, path: string): Secret {
  assertKnownFields(json, ['trusted_ca', 'match_subject_alt_names', 'match_typed_subject_alt_names'], path);
  const ca = optObject(json, 'trusted_ca', path);
  const typed = optArray(json, 'match_typed_subject_alt_names', path).map((m, i) => {
    const p = join(join(path, 'match_typed_subject_alt_names'), i);
    if (!isObject(m)) throw configError(p, 'must be an object');
    assertKnownFields(m, ['san_type', 'matcher'], p);
    return m;
  });
  const plain = optArray(json, 'match_subject_alt_names', path).map((m) => ({ matcher: m }));
  return { kind: 'validation_context', trustedCa: ca ? readDataSource(ca, join(path, 'trusted_ca')) : '', matchSubjectAltNames: [...plain, ...typed] };
}

export class SecretProviderImpl implements SecretProvider {
  private readonly slots = new Map<string, Slot>();
  /** Told when a context asks for a secret not seen before, so SDS (via ADS) can fetch it. */
  onSubscribe: ((names: string[]) => void) | undefined;

  subscribe<T extends Secret = Secret>(name: string): SecretHandle<T> {
    return this.slot(name) as unknown as SecretHandle<T>;
  }

  /** Adds or replaces a secret (static or from SDS); throws SailfinError leaving the old value in force. */
  addOrUpdate(json: JsonObject, path: string, opts: { static?: boolean; version?: string } = {}): void {
    const name = reqString(json, 'name', path);
    const secret = compileSecret(json, path);
    const slot = this.slot(name);
    slot.static = opts.static ?? false;
    slot.version = opts.version ?? '';
    slot.lastUpdated = new Date();
    slot.set(secret, json);
  }

  remove(name: string): void {
    this.slots.get(name)?.set(undefined, undefined);
  }

  names(): string[] {
    return [...this.slots.entries()].filter(([, s]) => s.current).map(([n]) => n);
  }

  /** SecretsConfigDump entries, private keys redacted as Envoy does. */
  dump(): { static_secrets: JsonObject[]; dynamic_active_secrets: JsonObject[] } {
    const statics: JsonObject[] = [];
    const dynamic: JsonObject[] = [];
    for (const [name, s] of this.slots) {
      if (!s.json) continue;
      const copy = JSON.parse(JSON.stringify(s.json)) as JsonObject;
      const cert = copy.tls_certificate;
      if (isObject(cert) && cert.private_key !== undefined) cert.private_key = { inline_string: '[redacted]' };
      const secret = { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', ...copy };
      const lastUpdated = s.lastUpdated.toISOString();
      if (s.static) statics.push({ name, last_updated: lastUpdated, secret });
      else dynamic.push({ name, version_info: s.version, last_updated: lastUpdated, secret });
    }
    return { static_secrets: statics, dynamic_active_secrets: dynamic };
  }

  /** Every name a TLS context has asked for (present or still awaited). */
  subscribedNames(): string[] {
    return [...this.slots.keys()];
  }

  private slot(name: string): Slot {
    let s = this.slots.get(name);
    if (!s) {
      this.slots.set(name, (s = new Slot()));
      this.onSubscribe?.(this.subscribedNames());
    }
    return s;
  }
}
