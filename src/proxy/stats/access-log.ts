/**
 * Access logs (`access_log` of http_connection_manager, tcp_proxy, listeners and admin): Envoy's
 * file and stdout/stderr loggers with a text format (Istio's default when none is given) or a JSON
 * format. Compiled once from config; `log()` renders and writes one line.
 */
import { openSync, writeSync } from 'node:fs';
import type { ProxyContext } from '../context.js';
import {
  assertKnownFields,
  configError,
  isObject,
  join,
  optArray,
  optObject,
  optString,
  reqString,
  typeUrlOf,
  unsupported,
  type Json,
  type JsonObject,
} from '../config/fields.js';
import type { ResponseFlag, StreamInfo } from '../stream-info.js';
import { ISTIO_DEFAULT_TEXT_FORMAT, compileJsonFormat, compileTextFormat, renderJson, renderText, type JsonPart, type TextPart } from './access-log-format.js';

export interface AccessLog {
  log(info: StreamInfo): void;
}

const FILE_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const STDOUT_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const STDERR_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog';

/** Where lines go. Files are opened once per path and shared by every logger writing there. */
interface Sink {
  write(line: string): void;
}

/**
 * A line is written at once when the sink has been quiet; lines that follow within the next few
 * milliseconds are written together when that window ends (and the window goes on while lines keep
 * coming). At 1,000 req/s a write per line (a syscall plus a round of Node's stream machinery) was
 * about 5 % of a sidecar's CPU in `--cpu-prof`; batching per event-loop turn did not help, as a turn
 * rarely finishes more than one request at that rate. Envoy buffers its access log for up to a second;
 * a few milliseconds keeps lines prompt for anyone tailing the log.
 */
class BatchingSink implements Sink {
  private lines: string[] = [];
  private bytes = 0;
  private window: NodeJS.Timeout | undefined;
  private readonly windowEnds = (): void => {
    this.window = undefined;
    if (this.lines.length === 0) return;
    this.flush();
    this.openWindow();
  };

  constructor(private readonly out: (chunk: string) => void) {
    batching.add(this);
  }

  write(line: string): void {
    if (!this.window) {
      this.out(line);
      this.openWindow();
      return;
    }
    this.lines.push(line);
    this.bytes += line.length;
    if (this.bytes >= FLUSH_BYTES) this.flush();
  }

  private openWindow(): void {
    this.window = setTimeout(this.windowEnds, BATCH_WINDOW_MS);
    this.window.unref();
  }

  flush(): void {
    const n = this.lines.length;
    if (n === 0) return;
    const chunk = n === 1 ? this.lines[0] : this.lines.join('');
    this.lines = [];
    this.bytes = 0;
    this.out(chunk);
  }
}

const BATCH_WINDOW_MS = 5;
const FLUSH_BYTES = 64 * 1024;
const batching = new Set<BatchingSink>();
// A proxy that exits (quitquitquit, SIGTERM) still writes the lines of its last window.
process.once('exit', () => {
  for (const s of batching) s.flush();
});

const fileSinks = new Map<string, Sink>();

function sinkFor(path: string): Sink {
  let sink = fileSinks.get(path);
  if (sink) return sink;
  if (path === '/dev/stdout') sink = new BatchingSink((c) => void process.stdout.write(c));
  else if (path === '/dev/stderr') sink = new BatchingSink((c) => void process.stderr.write(c));
  else {
    // Written synchronously: the batch is already one write per window, and a WriteStream's queued
    // writes never happen once process.exit() runs, so the last window's lines would be lost on exit.
    // A log file that cannot be written must not take the proxy down; the error is reported once.
    let fd: number | undefined;
    const fail = (err: unknown): void => {
      process.stderr.write(`sailfin proxy: access log ${path}: ${err instanceof Error ? err.message : String(err)}\n`);
      fd = undefined;
    };
    try {
      fd = openSync(path, 'a');
    } catch (err) {
      fail(err);
    }
    sink = new BatchingSink((c) => {
      if (fd === undefined) return;
      try {
        const buf = Buffer.from(c);
        for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
      } catch (err) {
        fail(err);
      }
    });
  }
  fileSinks.set(path, sink);
  return sink;
}

type Formatter = (info: StreamInfo) => string;

function compileLogFormat(fmt: JsonObject | undefined, legacyFormat: string | undefined, path: string): Formatter {
  if (fmt === undefined) {
    const parts = compileTextFormat(legacyFormat ?? ISTIO_DEFAULT_TEXT_FORMAT, path);
    return (i) => renderText(parts, i);
  }
  assertKnownFields(fmt, ['text_format', 'text_format_source', 'json_format', 'omit_empty_values', 'content_type'], path);
  const omitEmpty = fmt.omit_empty_values === true;
  const choices = ['text_format', 'text_format_source', 'json_format'].filter((k) => fmt[k] !== undefined);
  if (choices.length > 1) throw configError(path, `only one of ${choices.join(', ')} may be set`);
  if (isObject(fmt.json_format)) {
    const parts: JsonPart[] = compileJsonFormat(fmt.json_format, join(path, 'json_format'));
    return (i) => {
      const obj = renderJson(parts, i);
      if (omitEmpty) for (const k of Object.keys(obj)) if (obj[k] === null) delete obj[k];
      return JSON.stringify(obj) + '\n';
    };
  }
  let text: string | undefined;
  if (typeof fmt.text_format === 'string') text = fmt.text_format;
  const src = optObject(fmt, 'text_format_source', path);
  if (src) {
    const srcPath = join(path, 'text_format_source');
    assertKnownFields(src, ['inline_string'], srcPath);
    text = reqString(src, 'inline_string', srcPath);
  }
  const parts: TextPart[] = compileTextFormat(text ?? ISTIO_DEFAULT_TEXT_FORMAT, path);
  return (i) => renderText(parts, i);
}

type Filter = (info: StreamInfo) => boolean;

const ALL_FLAGS: readonly string[] = ['NR', 'UH', 'UF', 'UO', 'URX', 'UT', 'UC', 'UR', 'LR', 'DC', 'DI', 'FI', 'NC', 'RL', 'UAEX', 'DPE', 'UPE', 'SI', 'NFCF'];

function compileFilter(json: JsonObject, path: string): Filter {
  assertKnownFields(json, ['response_flag_filter', 'status_code_filter', 'not_health_check_filter'], path);
  if (isObject(json.response_flag_filter)) {
    const p = join(path, 'response_flag_filter');
    assertKnownFields(json.response_flag_filter, ['flags'], p);
    const flags = optArray(json.response_flag_filter, 'flags', p).map((f, i) => {
      if (typeof f !== 'string' || !ALL_FLAGS.includes(f)) throw configError(join(join(p, 'flags'), i), `unknown response flag ${JSON.stringify(f)}`);
      return f as ResponseFlag;
    });
    // No flags listed means "any flag set".
    return flags.length === 0 ? (i) => i.responseFlags.length > 0 : (i) => i.responseFlags.some((f) => flags.includes(f));
  }
  if (isObject(json.status_code_filter)) {
    const p = join(path, 'status_code_filter');
    assertKnownFields(json.status_code_filter, ['comparison'], p);
    const cmp = optObject(json.status_code_filter, 'comparison', p) ?? {};
    assertKnownFields(cmp, ['op', 'value'], join(p, 'comparison'));
    const op = optString(cmp, 'op', join(p, 'comparison')) ?? 'EQ';
    const value = isObject(cmp.value) ? Number(cmp.value.default_value ?? 0) : 0;
    if (op === 'EQ') return (i) => (i.responseCode ?? 0) === value;
    if (op === 'GE') return (i) => (i.responseCode ?? 0) >= value;
    if (op === 'LE') return (i) => (i.responseCode ?? 0) <= value;
    throw configError(join(join(p, 'comparison'), 'op'), `unsupported value ${JSON.stringify(op)}`);
  }
  if (json.not_health_check_filter !== undefined) return () => true;
  throw configError(path, 'an access log filter needs one of response_flag_filter, status_code_filter, not_health_check_filter');
}

class CompiledAccessLog implements AccessLog {
  constructor(
    private readonly sink: Sink,
    private readonly format: Formatter,
    private readonly filter: Filter | undefined,
  ) {}

  log(info: StreamInfo): void {
    if (this.filter && !this.filter(info)) return;
    this.sink.write(this.format(info));
  }
}

function compileOne(entry: Json, path: string): AccessLog {
  if (!isObject(entry)) throw configError(path, 'must be an object');
  assertKnownFields(entry, ['name', 'typed_config', 'filter'], path);
  const typed = optObject(entry, 'typed_config', path);
  if (!typed) throw configError(join(path, 'typed_config'), 'required field is missing');
  const tPath = join(path, 'typed_config');
  const type = typeUrlOf(typed, tPath);
  const filterJson = optObject(entry, 'filter', path);
  const filter = filterJson ? compileFilter(filterJson, join(path, 'filter')) : undefined;
  if (type === FILE_LOG) {
    assertKnownFields(typed, ['@type', 'path', 'log_format', 'format', 'json_format', 'typed_json_format'], tPath);
    const file = reqString(typed, 'path', tPath);
    let fmt = optObject(typed, 'log_format', tPath);
    // The deprecated top-level format fields of FileAccessLog map onto log_format.
    if (!fmt && isObject(typed.json_format)) fmt = { json_format: typed.json_format };
    if (!fmt && isObject(typed.typed_json_format)) fmt = { json_format: typed.typed_json_format };
    return new CompiledAccessLog(sinkFor(file), compileLogFormat(fmt, optString(typed, 'format', tPath), join(tPath, 'log_format')), filter);
  }
  if (type === STDOUT_LOG || type === STDERR_LOG) {
    assertKnownFields(typed, ['@type', 'log_format'], tPath);
    const fmt = optObject(typed, 'log_format', tPath);
    return new CompiledAccessLog(sinkFor(type === STDOUT_LOG ? '/dev/stdout' : '/dev/stderr'), compileLogFormat(fmt, undefined, join(tPath, 'log_format')), filter);
  }
  throw unsupported(join(tPath, '@type'), `access logger ${JSON.stringify(type)} is not supported by Sailfin (file, stdout and stderr are)`);
}

/** Compiles an `access_log` list; throws SailfinError naming the bad field. */
export function compileAccessLogs(json: Json | undefined, _ctx: ProxyContext | undefined, path: string): AccessLog[] {
  if (json === undefined || json === null) return [];
  if (!Array.isArray(json)) throw configError(path, 'must be a list');
  return json.map((e, i) => compileOne(e, join(path, i)));
}

/** Logs to every logger, never letting a logger's failure reach the request path. */
export function logAll(logs: readonly AccessLog[], info: StreamInfo): void {
  for (let i = 0; i < logs.length; i++) {
    try {
      logs[i].log(info);
    } catch {
      // A formatting bug must not break traffic.
    }
  }
}
