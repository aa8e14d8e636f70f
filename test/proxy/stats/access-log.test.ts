import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileAccessLogs } from '../../../src/proxy/stats/access-log.js';
import { newStreamInfo, addFlag } from '../../../src/proxy/stream-info.js';
import { SailfinError } from '../../../src/common/errors.js';

const FILE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

function sampleInfo() {
  const info = newStreamInfo();
  info.startTime = Date.parse('2026-01-02T03:04:05.678Z');
  info.method = 'GET';
  info.path = '/status/503';
  info.protocol = 'HTTP/1.1';
  info.responseCode = 503;
  addFlag(info, 'UH');
  info.responseCodeDetails = 'no_healthy_upstream';
  info.bytesReceived = 0;
  info.bytesSent = 19;
  info.durationMs = 3;
  info.userAgent = 'curl/8';
  info.requestId = 'abc';
  info.authority = 'reviews:9080';
  info.upstreamCluster = 'outbound|9080||reviews';
  info.downstreamLocalAddress = '10.0.0.1:9080';
  info.downstreamRemoteAddress = '10.0.0.2:5555';
  info.routeName = 'default';
  return info;
}

/** The file once `done` says its text is complete (file writes go through the thread pool: slow under load). */
async function readUntil(path: string, done: (text: string) => boolean): Promise<string> {
  let text = '';
  for (let i = 0; i < 250; i++) {
    text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (done(text)) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
  return text;
}

async function readSoon(path: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (text.includes('\n')) return text;
    await new Promise((r) => setTimeout(r, 20));
  }
  return readFileSync(path, 'utf8');
}

test('default format is Istio text format with "-" for missing values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'al-'));
  try {
    const path = join(dir, 'a.log');
    const [log] = compileAccessLogs([{ name: 'envoy.access_loggers.file', typed_config: { '@type': FILE, path } }], undefined, 'access_log');
    log.log(sampleInfo());
    const line = await readSoon(path);
    assert.equal(
      line,
      '[2026-01-02T03:04:05.678Z] "GET /status/503 HTTP/1.1" 503 UH no_healthy_upstream - "-" 0 19 3 - "-" "curl/8" "abc" "reviews:9080" "-" outbound|9080||reviews - 10.0.0.1:9080 10.0.0.2:5555 - default\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('json_format keeps numbers numeric and nulls missing values; text_format_source works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'al-'));
  try {
    const path = join(dir, 'a.log');
    const logs = compileAccessLogs(
      [
        { typed_config: { '@type': FILE, path, log_format: { json_format: { code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%', host: '%UPSTREAM_HOST%', line: '%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%' } } } },
        { typed_config: { '@type': FILE, path, log_format: { text_format_source: { inline_string: '%RESPONSE_CODE%:%REQ(:AUTHORITY):6%\n' } } } },
      ],
      undefined,
      'access_log',
    );
    for (const l of logs) l.log(sampleInfo());
    const lines = (await readUntil(path, (t) => t.split('\n').length > 2)).trim().split('\n');
    assert.deepEqual(JSON.parse(lines[0]), { code: 503, flags: 'UH', host: null, line: 'GET /status/503' });
    assert.equal(lines[1], '503:review');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('REQ/RESP read header lists with get() and plain objects, with fallbacks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'al-'));
  try {
    const path = join(dir, 'a.log');
    const [log] = compileAccessLogs([{ typed_config: { '@type': FILE, path, log_format: { text_format: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %REQ(X-B3-TRACEID)% %RESP(CONTENT-TYPE)% %REQ(X-MISSING)%\n' } } }], undefined, 'x');
    const info = sampleInfo();
    const list = new Map([['x-envoy-original-path', '/orig'], ['x-b3-traceid', 'abc']]);
    info.requestHeaders = { get: (n: string) => list.get(n) };
    info.responseHeaders = { 'content-type': ['text/plain', 'charset=utf-8'] };
    log.log(info);
    assert.equal(await readSoon(path), '/orig abc text/plain,charset=utf-8 -\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('response_flag_filter only logs matching streams', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'al-'));
  try {
    const path = join(dir, 'a.log');
    const [log] = compileAccessLogs([{ typed_config: { '@type': FILE, path, log_format: { text_format: '%RESPONSE_FLAGS%\n' } }, filter: { response_flag_filter: { flags: ['NR'] } } }], undefined, 'x');
    log.log(sampleInfo());
    const nr = sampleInfo();
    nr.responseFlags = ['NR'];
    log.log(nr);
    await readUntil(path, (t) => t.includes('\n'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(readFileSync(path, 'utf8'), 'NR\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown operators, loggers and fields are errors naming the field', () => {
  assert.throws(() => compileAccessLogs([{ typed_config: { '@type': FILE, path: '/dev/null', log_format: { text_format: '%NOPE%' } } }], undefined, 'l.access_log'), (e: unknown) => e instanceof SailfinError && /NOPE/.test(e.message) && e.field === 'l.access_log[0].typed_config.log_format');
  assert.throws(() => compileAccessLogs([{ typed_config: { '@type': 'type.googleapis.com/x.Grpc' } }], undefined, 'a'), (e: unknown) => e instanceof SailfinError && e.field === 'a[0].typed_config.@type');
  assert.throws(() => compileAccessLogs([{ typed_config: { '@type': FILE, path: '/dev/null', bogus: 1 } }], undefined, 'a'), (e: unknown) => e instanceof SailfinError && e.field === 'a[0].typed_config.bogus');
});

test('a burst of lines is written in batches, complete and in order, within milliseconds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-alog-'));
  try {
    const path = join(dir, 'burst.log');
    const [log] = compileAccessLogs([{ name: 'f', typed_config: { '@type': FILE, path, log_format: { text_format_source: { inline_string: '%REQ(X-REQUEST-ID)%\n' } } } }], undefined, 'access_log');
    const info = sampleInfo();
    for (let i = 0; i < 500; i++) {
      info.requestId = `r${i}`;
      log.log(info);
    }
    const started = Date.now();
    let text = '';
    while (Date.now() - started < 2000) {
      text = existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (text.split('\n').length > 500) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.deepEqual(text.trim().split('\n'), Array.from({ length: 500 }, (_, i) => `r${i}`));
    assert.ok(Date.now() - started < 500, `all lines out after ${Date.now() - started} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lines still buffered when the process exits are written', async () => {
  const { spawnSync } = await import('node:child_process');
  const mod = new URL('../../../src/proxy/stats/access-log.js', import.meta.url).href;
  const script = `
    const { compileAccessLogs } = await import(${JSON.stringify(mod)});
    const [log] = compileAccessLogs([{ name: 's', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: { text_format_source: { inline_string: '%REQ(X-REQUEST-ID)%\\n' } } } }], undefined, 'a');
    for (let i = 0; i < 5; i++) log.log({ requestId: 'line' + i, responseFlags: [] });
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'line0\nline1\nline2\nline3\nline4\n');
});

test('lines of a file log still buffered when the process exits are in the file', async () => {
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'sailfin-alog-'));
  try {
    const path = join(dir, 'exit.log');
    const mod = new URL('../../../src/proxy/stats/access-log.js', import.meta.url).href;
    const script = `
      const { compileAccessLogs } = await import(${JSON.stringify(mod)});
      const [log] = compileAccessLogs([{ name: 'f', typed_config: { '@type': ${JSON.stringify(FILE)}, path: ${JSON.stringify(path)}, log_format: { text_format_source: { inline_string: '%REQ(X-REQUEST-ID)%\\n' } } } }], undefined, 'a');
      for (let i = 0; i < 5; i++) log.log({ requestId: 'line' + i, responseFlags: [] });
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(path, 'utf8'), 'line0\nline1\nline2\nline3\nline4\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('START_TIME prints the same ISO 8601 text as Date for any millisecond', async () => {
  const { isoTime } = await import('../../../src/proxy/stats/access-log-format.js');
  const samples = [0, 1, 999, 1000, 1001, Date.parse('2026-01-02T03:04:05.678Z'), Date.parse('1969-12-31T23:59:59.999Z'), 253402300799999, 253402300800000, -62167219200001];
  for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 4e12) - 1e12);
  // Same second twice in a row, then back: the cached prefix must follow.
  samples.push(1_700_000_000_123, 1_700_000_000_999, 1_700_000_001_000, 1_700_000_000_001);
  for (const ms of samples) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
});
