/**
 * What the connection manager needs from a downstream codec (HTTP/1.1 or HTTP/2) for one stream.
 * The codec calls the stream back through ActiveStream's on* methods.
 */
import type { Duplex } from 'node:stream';
import type { HeaderList } from './headers.js';

export interface DownstreamCodecStream {
  /** 'HTTP/1.1', 'HTTP/1.0' or 'HTTP/2'. */
  readonly protocol: string;
  writeHeaders(status: number, headers: HeaderList, endStream: boolean): void;
  /** Returns false when the downstream is backed up; ActiveStream.onWritable follows. */
  writeData(chunk: Buffer, endStream: boolean): boolean;
  writeTrailers(trailers: HeaderList): void;
  /** Abandon the response (HTTP/1.1 closes the connection, HTTP/2 resets the stream). */
  resetStream(): void;
  pauseRequest(): void;
  resumeRequest(): void;
  /** HTTP/1.1 upgrades: after a 101 is written, the raw socket and any bytes already read past the request. */
  takeTunnel?(): { socket: Duplex; head: Buffer | null } | undefined;
}
