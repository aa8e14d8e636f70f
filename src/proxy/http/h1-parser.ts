/**
 * A hand-written, incremental HTTP/1.1 parser for requests (downstream) and responses (upstream).
 * Why not node:http or undici: they allocate request/response objects, header objects and stream
 * wrappers per message and copy bodies through Readables, which costs 2-3x on the proxy's hot path;
 * a proxy only needs the header block as strings and the body as the socket's own Buffers.
 *
 * The parser is strict where request smuggling lives (conflicting Content-Length, Transfer-Encoding
 * with Content-Length, obs-fold, bad chunk sizes → error) and never buffers bodies: it hands out
 * sub-slices of the buffers it is given.
 */
import { HeaderList } from './headers.js';

export const enum ParserMode {
  Request = 0,
  Response = 1,
}

export interface H1ParserHandler {
  /** A complete header block is available on the parser's fields. */
  onHeaders(): void;
  onBody(chunk: Buffer): void;
  onMessageComplete(trailers: HeaderList | undefined): void;
  /** `status` is the local reply Envoy would send for a request error (400 or 431). */
  onParseError(status: number, reason: string): void;
}

const enum State {
  Head = 0,
  BodyLength = 1,
  ChunkSize = 2,
  ChunkData = 3,
  ChunkDataEnd = 4,
  Trailers = 5,
  BodyEof = 6,
  Upgraded = 7,
  Error = 8,
}

/** RFC 9110 tchar, for header names and methods. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return true;
}

const MAX_CHUNK_LINE = 4096;
const CRLF2 = Buffer.from('\r\n\r\n');

export class H1Parser {
  // The current message, valid from onHeaders until the next message starts.
  method = '';
  path = '';
  versionMinor = 1;
  statusCode = 0;
  statusText = '';
  headers = new HeaderList();
  /** -1 when the message has no Content-Length. */
  contentLength = -1;
  chunked = false;
  /** Connection semantics after this message (HTTP/1.1 default keep-alive; HTTP/1.0 needs the header). */
  keepAlive = true;
  /** The message asks for a protocol upgrade (`Connection: upgrade` + `Upgrade`). */
  upgrade = false;
  /** Response mode: the request was HEAD, so the response has no body whatever its headers say. */
  noBodyExpected = false;
  /** Bytes of header block allowed before onParseError(431). */
  maxHeaderBytes = 60 * 1024;
  maxHeaderCount = 100;
  /**
   * The input buffers are reused after execute() returns (a socket's static read buffer): bytes the
   * parser holds on to (an incomplete head, input while paused) are copied first.
   */
  copyRetained = false;

  private state = State.Head;
  private pending: Buffer | null = null;
  private remaining = 0;
  private paused = false;
  private trailerLines = '';
  private executing = false;

  constructor(
    readonly mode: ParserMode,
    private readonly handler: H1ParserHandler,
  ) {}

  get isPaused(): boolean {
    return this.paused;
  }

  /** True between messages (nothing of a next message seen yet). */
  get idle(): boolean {
    return this.state === State.Head && this.pending === null;
  }

  /** After onMessageComplete: stop before the next message (pipelining) until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const p = this.pending;
    this.pending = null;
    if (p && !this.executing) this.execute(p);
    else if (p) this.pending = p;
  }

  /** After a 101 or an accepted upgrade: everything that follows is raw tunnel bytes. */
  takeUpgradedRemainder(): Buffer | null {
    this.state = State.Upgraded;
    const p = this.pending;
    this.pending = null;
    return p;
  }

  /** The connection closed: completes a read-until-close body; returns false if a message was cut short. */
  finish(): boolean {
    if (this.state === State.BodyEof) {
      this.state = State.Head;
      this.handler.onMessageComplete(undefined);
      return true;
    }
    return this.state === State.Head && this.pending === null;
  }

  execute(data: Buffer): void {
    if (this.state === State.Error || this.state === State.Upgraded) return;
    if (this.paused) {
      this.pending = this.pending ? Buffer.concat([this.pending, data]) : this.retain(data);
      return;
    }
    if (this.pending) {
      data = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    this.executing = true;
    try {
      this.run(data);
    } finally {
      this.executing = false;
    }
  }

  private run(data: Buffer): void {
    let off = 0;
    const len = data.length;
    while (off < len) {
      if (this.paused) {
        this.pending = this.retain(data.subarray(off));
        return;
      }
      switch (this.state) {
        case State.Head: {
          // Tolerate the empty lines RFC 9112 allows before a request line.
          while (off + 1 < len && data[off] === 13 && data[off + 1] === 10) off += 2;
          if (off >= len) return;
          const end = data.indexOf(CRLF2, off);
          if (end < 0) {
            if (len - off > this.maxHeaderBytes) return this.fail(431, 'header_overflow');
            this.pending = this.retain(data.subarray(off));
            return;
          }
          if (end - off > this.maxHeaderBytes) return this.fail(431, 'header_overflow');
          if (!this.parseHead(data.toString('latin1', off, end))) return;
          off = end + 4;
          this.afterHead();
          break;
        }
        case State.BodyLength: {
          const n = Math.min(this.remaining, len - off);
          const chunk = data.subarray(off, off + n);
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.Head;
          this.handler.onBody(chunk);
          if (this.state === State.Head) this.complete(undefined);
          break;
        }
        case State.ChunkSize: {
          const nl = data.indexOf(10, off);
          if (nl < 0) {
            if (len - off > MAX_CHUNK_LINE) return this.fail(400, 'invalid_chunk_size');
            this.pending = this.retain(data.subarray(off));
            return;
          }
          if (nl === off || data[nl - 1] !== 13) return this.fail(400, 'invalid_chunk_size');
          let line = data.toString('latin1', off, nl - 1);
          off = nl + 1;
          const semi = line.indexOf(';');
          if (semi >= 0) line = line.slice(0, semi);
          line = line.trim();
          if (line.length === 0 || line.length > 12 || !/^[0-9a-fA-F]+$/.test(line)) return this.fail(400, 'invalid_chunk_size');
          const size = parseInt(line, 16);
          if (size === 0) {
            this.state = State.Trailers;
            this.trailerLines = '';
          } else {
            this.remaining = size;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, len - off);
          const chunk = data.subarray(off, off + n);
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          this.handler.onBody(chunk);
          break;
        }
        case State.ChunkDataEnd: {
          if (len - off < 2) {
            this.pending = this.retain(data.subarray(off));
            return;
          }
          if (data[off] !== 13 || data[off + 1] !== 10) return this.fail(400, 'invalid_chunk_framing');
          off += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const nl = data.indexOf(10, off);
          if (nl < 0) {
            if (this.trailerLines.length + len - off > this.maxHeaderBytes) return this.fail(431, 'trailer_overflow');
            this.pending = this.retain(data.subarray(off));
            return;
          }
          const line = data.toString('latin1', off, nl > off && data[nl - 1] === 13 ? nl - 1 : nl);
          off = nl + 1;
          if (line.length === 0) {
            this.state = State.Head;
            this.complete(this.trailerLines ? this.parseTrailers(this.trailerLines) : undefined);
          } else {
            this.trailerLines += line + '\n';
            if (this.trailerLines.length > this.maxHeaderBytes) return this.fail(431, 'trailer_overflow');
          }
          break;
        }
        case State.BodyEof: {
          const chunk = off === 0 ? data : data.subarray(off);
          off = len;
          this.handler.onBody(chunk);
          break;
        }
        case State.Upgraded:
        case State.Error:
          return;
      }
    }
  }

  private retain(b: Buffer): Buffer {
    return this.copyRetained ? Buffer.from(b) : b;
  }

  private complete(trailers: HeaderList | undefined): void {
    this.handler.onMessageComplete(trailers);
  }

  private fail(status: number, reason: string): void {
    this.state = State.Error;
    this.pending = null;
    this.handler.onParseError(status, reason);
  }

  private afterHead(): void {
    this.handler.onHeaders();
    if (this.state === State.Error || this.state === State.Upgraded) return;
    if (this.mode === ParserMode.Response) {
      const s = this.statusCode;
      if (this.noBodyExpected || s === 204 || s === 304 || (s >= 100 && s < 200)) return this.complete(undefined);
      if (this.chunked) this.state = State.ChunkSize;
      else if (this.contentLength >= 0) {
        if (this.contentLength === 0) return this.complete(undefined);
        this.remaining = this.contentLength;
        this.state = State.BodyLength;
      } else {
        this.keepAlive = false;
        this.state = State.BodyEof;
      }
      return;
    }
    if (this.chunked) this.state = State.ChunkSize;
    else if (this.contentLength > 0) {
      this.remaining = this.contentLength;
      this.state = State.BodyLength;
    } else this.complete(undefined);
  }

  private parseHead(head: string): boolean {
    let lineEnd = head.indexOf('\r\n');
    const first = lineEnd < 0 ? head : head.slice(0, lineEnd);
    if (this.mode === ParserMode.Request) {
      const sp1 = first.indexOf(' ');
      const sp2 = first.lastIndexOf(' ');
      if (sp1 <= 0 || sp2 <= sp1 + 1) return this.failHead('invalid_request_line');
      this.method = first.slice(0, sp1);
      this.path = first.slice(sp1 + 1, sp2);
      const version = first.slice(sp2 + 1);
      if (!isToken(this.method) || this.path.includes(' ')) return this.failHead('invalid_request_line');
      if (version === 'HTTP/1.1') this.versionMinor = 1;
      else if (version === 'HTTP/1.0') this.versionMinor = 0;
      else return this.failHead('invalid_http_version');
    } else {
      if (!first.startsWith('HTTP/1.') || first.length < 12 || first[12 - 4] !== ' ') return this.failHead('invalid_status_line');
      this.versionMinor = first.charCodeAt(7) === 48 ? 0 : 1;
      const code = Number(first.slice(9, 12));
      if (!Number.isInteger(code) || code < 100 || code > 999) return this.failHead('invalid_status_line');
      this.statusCode = code;
      this.statusText = first.slice(13);
    }
    const kv: string[] = [];
    let contentLength = -1;
    let chunked = false;
    let sawTe = false;
    let connClose = false;
    let connKeepAlive = false;
    let connUpgrade = false;
    let hasUpgrade = false;
    let pos = lineEnd < 0 ? head.length : lineEnd + 2;
    while (pos < head.length) {
      lineEnd = head.indexOf('\r\n', pos);
      if (lineEnd < 0) lineEnd = head.length;
      const c0 = head.charCodeAt(pos);
      if (c0 === 32 || c0 === 9) return this.failHead('obsolete_line_folding');
      const colon = head.indexOf(':', pos);
      if (colon < 0 || colon > lineEnd) return this.failHead('invalid_header_line');
      const name = head.slice(pos, colon).toLowerCase();
      if (!isToken(name)) return this.failHead('invalid_header_name');
      let vs = colon + 1;
      let ve = lineEnd;
      while (vs < ve && (head.charCodeAt(vs) === 32 || head.charCodeAt(vs) === 9)) vs++;
      while (ve > vs && (head.charCodeAt(ve - 1) === 32 || head.charCodeAt(ve - 1) === 9)) ve--;
      const value = head.slice(vs, ve);
      if (value.includes('\0') || value.includes('\n') || value.includes('\r')) return this.failHead('invalid_header_value');
      pos = lineEnd + 2;
      kv.push(name, value);
      if (kv.length > this.maxHeaderCount * 2) return this.failHead('too_many_headers', 431);
      switch (name) {
        case 'content-length': {
          if (value.length === 0 || value.length > 15) return this.failHead('invalid_content_length');
          for (let i = 0; i < value.length; i++) {
            const c = value.charCodeAt(i);
            if (c < 48 || c > 57) return this.failHead('invalid_content_length');
          }
          const n = Number(value);
          if (contentLength >= 0 && contentLength !== n) return this.failHead('conflicting_content_length');
          contentLength = n;
          break;
        }
        case 'transfer-encoding': {
          sawTe = true;
          const v = value.toLowerCase();
          chunked = v === 'chunked' || v.endsWith(',chunked') || v.endsWith(', chunked');
          break;
        }
        case 'connection': {
          const v = value.toLowerCase();
          if (v === 'close') connClose = true;
          else if (v === 'keep-alive') connKeepAlive = true;
          else if (v === 'upgrade') connUpgrade = true;
          else
            for (const t of v.split(',')) {
              const tok = t.trim();
              if (tok === 'close') connClose = true;
              else if (tok === 'keep-alive') connKeepAlive = true;
              else if (tok === 'upgrade') connUpgrade = true;
            }
          break;
        }
        case 'upgrade':
          hasUpgrade = true;
          break;
      }
    }
    if (sawTe) {
      // A request whose framing is ambiguous is how smuggling works: refuse it (Envoy does too).
      if (this.mode === ParserMode.Request && (!chunked || contentLength >= 0)) return this.failHead('invalid_transfer_encoding', this.versionMinor === 0 ? 400 : 400);
      contentLength = -1;
    }
    this.headers = new HeaderList(kv);
    this.contentLength = contentLength;
    this.chunked = chunked;
    this.keepAlive = this.versionMinor === 1 ? !connClose : connKeepAlive && !connClose;
    this.upgrade = connUpgrade && hasUpgrade;
    return true;
  }

  private failHead(reason: string, status = 400): false {
    this.fail(status, reason);
    return false;
  }

  private parseTrailers(text: string): HeaderList {
    const kv: string[] = [];
    for (const line of text.split('\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      kv.push(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    return new HeaderList(kv);
  }
}
