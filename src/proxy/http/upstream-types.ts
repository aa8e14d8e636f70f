/**
 * The contract between the router and the upstream HTTP connection pools (HTTP/1.1 and HTTP/2).
 */
import type { Duplex } from 'node:stream';
import type { HeaderList } from './headers.js';

/** Why an upstream exchange failed; the router maps each to Envoy's flag, body and retry rules. */
export type UpstreamFailure =
  | 'connect_failure' // UF
  | 'overflow' // UO (pending queue full)
  | 'connection_termination' // UC: the connection closed under the request
  | 'remote_reset' // UR: HTTP/2 RST_STREAM from the upstream
  | 'refused_stream' // HTTP/2 REFUSED_STREAM, always safe to retry
  | 'protocol_error'; // UPE: the upstream sent garbage

export interface UpstreamRequestHead {
  method: string;
  path: string;
  authority: string;
  scheme: string;
  headers: HeaderList;
  /** Request body expected after the head. */
  hasBody: boolean;
  /** -1 when unknown (streamed with chunked encoding on HTTP/1.1). */
  contentLength: number;
  /** Upgrade token (e.g. "websocket") for HTTP/1.1 upgrades. */
  upgrade?: string;
}

export interface UpstreamCallbacks {
  onUpstreamHeaders(status: number, headers: HeaderList, end: boolean): void;
  onUpstreamData(chunk: Buffer, end: boolean): void;
  onUpstreamTrailers(trailers: HeaderList): void;
  /**
   * `reused`: the exchange ran on a kept-alive connection and nothing of the response arrived, the
   * signature of the upstream closing an idle connection just as the request went out.
   */
  onUpstreamFailure(kind: UpstreamFailure, detail: string, afterHeaders: boolean, reused?: boolean): void;
  /** HTTP/1.1 101 Switching Protocols: the pool hands over the raw connection. */
  onUpstreamUpgrade(headers: HeaderList, socket: Duplex, head: Buffer | null): void;
  /** The upstream drained after write() returned false. */
  onUpstreamWritable(): void;
  /** A connection was assigned (connect succeeded); for the access log. */
  onUpstreamConnected(localAddress: string | undefined, peerUri: string | undefined): void;
}

export interface UpstreamRequest {
  /** Returns false when the upstream is backed up (onUpstreamWritable follows). */
  write(chunk: Buffer, end: boolean): boolean;
  writeTrailers(trailers: HeaderList): void;
  /** Give up on the exchange; the connection is not reused. No callback follows. */
  abort(): void;
  /** Stop / restart delivering response data (downstream backpressure). */
  pauseResponse(): void;
  resumeResponse(): void;
}
