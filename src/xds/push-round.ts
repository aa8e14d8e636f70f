/**
 * What the streams of one push share. Most proxies of a push are sent byte-identical responses (the same
 * route table for every sidecar of a namespace, the same changed endpoint assignment for everyone), so a
 * response is serialized once per push and the very same Buffer is written to every stream that gets it.
 *
 * For the bytes to be identical the nonce must be too: a nonce only has to tell one stream's responses of
 * a type apart (the proxy echoes it to say which response it ACKs), and each stream gets at most one
 * response per type per push, so one nonce per type per push is enough.
 */
import type { XdsTypeUrl } from './protos.js';

export class PushRound {
  private readonly nonces = new Map<XdsTypeUrl, string>();
  private readonly responses = new Map<string, { frame: Buffer; message: Buffer }>();
  readonly stats = { built: 0, reused: 0 };

  constructor(private readonly newNonce: () => string) {}

  /** The nonce of every `type` response of this push. */
  nonce(type: XdsTypeUrl): string {
    let nonce = this.nonces.get(type);
    if (nonce === undefined) this.nonces.set(type, (nonce = this.newNonce()));
    return nonce;
  }

  /** Whether the response `key` names was already serialized (and is held) by this push. */
  has(key: string): boolean {
    return this.responses.has(key);
  }

  /** The serialized response `key` names (type, version and resources), built on first use. */
  response(key: string, build: () => { frame: Buffer; message: Buffer }): { frame: Buffer; message: Buffer } {
    let bytes = this.responses.get(key);
    if (bytes) {
      this.stats.reused++;
      return bytes;
    }
    this.stats.built++;
    this.responses.set(key, (bytes = build()));
    return bytes;
  }
}
