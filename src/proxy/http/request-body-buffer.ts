/**
 * The request body as the router keeps it: the chunks seen so far, bounded by Envoy's retry buffer
 * limit, so a retry or a resend after a stale keep-alive connection can replay them; whether the
 * body has ended; and its trailers. A body that outgrows the limit is dropped and cannot be replayed.
 */
import type { HeaderList } from './headers.js';

/** The bounded copy of the request body kept so a retry can resend it (Envoy's buffer limit). */
const RETRY_BUFFER_LIMIT = 1024 * 1024;

const EMPTY = Buffer.alloc(0);

export class RequestBodyBuffer {
  /** The chunks kept; undefined while there are none (most requests have no body) or once dropped. */
  chunks: Buffer[] | undefined;
  ended = false;
  trailers: HeaderList | undefined;
  private bytes = 0;
  private dropped = false;

  add(chunk: Buffer): void {
    if (this.dropped) return;
    this.bytes += chunk.length;
    if (this.bytes > RETRY_BUFFER_LIMIT) this.drop();
    else (this.chunks ??= []).push(chunk);
  }

  /** Whether the whole body seen so far is still here to resend. */
  get replayable(): boolean {
    return !this.dropped;
  }

  drop(): void {
    this.dropped = true;
    this.chunks = undefined;
  }
}

/** Where sendBody writes: the router's current upstream attempt. */
export interface BodySink {
  writeUpstream(chunk: Buffer, end: boolean): void;
  writeUpstreamTrailers(trailers: HeaderList): void;
}

/**
 * Sends body chunks to the sink, ending the stream on the last chunk when the body has ended, with
 * the trailers, or with an empty end when the head announced a body none came for.
 */
export function sendBody(chunks: readonly Buffer[] | undefined, body: RequestBodyBuffer, headHasBody: boolean, sink: BodySink): void {
  const n = chunks ? chunks.length : 0;
  const { ended, trailers } = body;
  for (let i = 0; i < n; i++) sink.writeUpstream(chunks![i], ended && !trailers && i === n - 1);
  if (ended && trailers) sink.writeUpstreamTrailers(trailers);
  else if (ended && n === 0 && headHasBody) sink.writeUpstream(EMPTY, true);
}
