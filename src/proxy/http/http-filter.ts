/**
 * The contract between the connection manager and HTTP filters (fault, CORS, router). Filters are
 * compiled once per HCM and shared by every stream, so they keep per-request state on the stream,
 * never in themselves; their hooks are methods, not per-request closures.
 */
import type { HeaderList } from './headers.js';
import type { ActiveStream } from './active-stream.js';

export const enum FilterStatus {
  /** Go on with the next filter. */
  Continue = 0,
  /** This filter replied or will call `stream.continueDecoding()` later. */
  StopIteration = 1,
}

export interface HttpFilter {
  /** The filter's name in `http_filters` (the key of `typed_per_filter_config`). */
  readonly name: string;
  decodeHeaders(stream: ActiveStream): FilterStatus;
  /** Last look at response headers before they go downstream. */
  encodeHeaders?(stream: ActiveStream, status: number, headers: HeaderList): void;
  /** Whether this is the terminal filter (the router). */
  readonly terminal?: boolean;
}
