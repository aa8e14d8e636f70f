/**
 * What a protocol variant (state of the world, delta) needs from the ADS server: registering the
 * stream's proxy, generating and encoding resources, versions and nonces, and recording ACKs and NACKs
 * the same way for /debug/syncz, /metrics, logs and events.
 */
import type { Logger } from 'pino';
import type { EncodedResource } from './resource-encoder.js';
import type { NackRecord, ProxyConnection } from './proxy-connection.js';
import type { XdsTypeUrl } from './protos.js';

/** One type's resources for one proxy, by name, encoded (each entry shared with every proxy that got it). */
export type GeneratedSet = Map<string, EncodedResource>;

export interface StreamHost {
  readonly logger: Logger;
  /** Register the proxy named by a stream's first request; undefined (and the stream refused) without node.id. */
  accept(node: object | null | undefined, refuse: (details: string) => void): ProxyConnection | undefined;
  release(conn: ProxyConnection, why: string): void;
  /** The proxy's resources of `type` for its subscription; undefined when the generator failed (logged). */
  generate(conn: ProxyConnection, type: XdsTypeUrl): Promise<GeneratedSet | undefined>;
  /** The current push's version. */
  version(): string;
  nonce(): string;
  controlPlaneId(): string;
  /** Waits for room to write `bytes` to `conn` (see write-budget.ts); call the result once the write completed. */
  acquireWrite(conn: ProxyConnection, bytes: number): Promise<() => void>;
  recordSent(conn: ProxyConnection, type: XdsTypeUrl, resources: number): void;
  recordAck(conn: ProxyConnection, type: XdsTypeUrl, version: string): void;
  recordNack(conn: ProxyConnection, type: XdsTypeUrl, nack: NackRecord, rejectedVersion: string | undefined): void;
}
