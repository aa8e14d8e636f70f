/**
 * `request_headers_to_add/remove` and `response_headers_to_add/remove` (route config, virtual host,
 * route and weighted-cluster levels) compiled into one object per level. Values may use the few
 * stream-info operators Istio's config uses; anything else with `%` is rejected at load time.
 */
import { assertKnownFields, configError, isObject, join, optArray, optBool, optObject, optString, unsupported, type JsonObject } from '../config/fields.js';
import type { StreamInfo } from '../stream-info.js';
import type { HeaderList } from './headers.js';

type AppendAction = 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';

type ValueFn = (info: StreamInfo) => string;

interface HeaderAdd {
  readonly name: string;
  readonly value: string | ValueFn;
  readonly action: AppendAction;
  readonly keepEmpty: boolean;
}

const OPERATORS: Record<string, ValueFn> = {
  DOWNSTREAM_REMOTE_ADDRESS: (i) => i.downstreamRemoteAddress ?? '',
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (i) => stripPort(i.downstreamRemoteAddress ?? ''),
  DOWNSTREAM_LOCAL_ADDRESS: (i) => i.downstreamLocalAddress ?? '',
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (i) => stripPort(i.downstreamLocalAddress ?? ''),
  UPSTREAM_REMOTE_ADDRESS: (i) => i.upstreamHost ?? '',
  REQUESTED_SERVER_NAME: (i) => i.requestedServerName ?? '',
  PROTOCOL: (i) => i.protocol ?? '',
  HOSTNAME: () => process.env.HOSTNAME ?? '',
};

function stripPort(addr: string): string {
  if (addr.startsWith('[')) return addr.slice(1, addr.indexOf(']'));
  const c = addr.lastIndexOf(':');
  return c < 0 || addr.indexOf(':') !== c ? addr : addr.slice(0, c);
}

function compileValue(value: string, path: string): string | ValueFn {
  if (!value.includes('%')) return value;
  const parts: (string | ValueFn)[] = [];
  let rest = value;
  while (rest.length) {
    const i = rest.indexOf('%');
    if (i < 0) {
      parts.push(rest);
      break;
    }
    if (rest[i + 1] === '%') {
      parts.push(rest.slice(0, i + 1));
      rest = rest.slice(i + 2);
      continue;
    }
    const j = rest.indexOf('%', i + 1);
    if (j < 0) throw configError(path, `unterminated %OPERATOR% in ${JSON.stringify(value)}`);
    const op = OPERATORS[rest.slice(i + 1, j)];
    if (!op) throw unsupported(path, `header value operator %${rest.slice(i + 1, j)}% is not supported by Sailfin`);
    if (i > 0) parts.push(rest.slice(0, i));
    parts.push(op);
    rest = rest.slice(j + 1);
  }
  if (parts.every((p) => typeof p === 'string')) return parts.join('');
  return (info) => {
    let s = '';
    for (const p of parts) s += typeof p === 'string' ? p : p(info);
    return s;
  };
}

export class HeaderMutation {
  constructor(
    private readonly adds: readonly HeaderAdd[],
    private readonly removes: readonly string[],
  ) {}

  get empty(): boolean {
    return this.adds.length === 0 && this.removes.length === 0;
  }

  apply(headers: HeaderList, info: StreamInfo): void {
    for (const name of this.removes) headers.remove(name);
    for (const a of this.adds) {
      const value = typeof a.value === 'string' ? a.value : a.value(info);
      if (value === '' && !a.keepEmpty) continue;
      switch (a.action) {
        case 'APPEND_IF_EXISTS_OR_ADD':
          headers.add(a.name, value);
          break;
        case 'ADD_IF_ABSENT':
          if (!headers.has(a.name)) headers.add(a.name, value);
          break;
        case 'OVERWRITE_IF_EXISTS_OR_ADD':
          headers.set(a.name, value);
          break;
        case 'OVERWRITE_IF_EXISTS':
          if (headers.has(a.name)) headers.set(a.name, value);
          break;
      }
    }
  }
}

export const NO_MUTATION = new HeaderMutation([], []);

const ACTIONS: readonly AppendAction[] = ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'];

/** Reads `<dir>_headers_to_add` / `<dir>_headers_to_remove` from a route-config object. */
export function compileHeaderMutation(obj: JsonObject, dir: 'request' | 'response', path: string): HeaderMutation {
  const addKey = `${dir}_headers_to_add`;
  const adds: HeaderAdd[] = optArray(obj, addKey, path).map((e, i) => {
    const p = join(join(path, addKey), i);
    if (!isObject(e)) throw configError(p, 'must be an object');
    assertKnownFields(e, ['header', 'append', 'append_action', 'keep_empty_value'], p);
    const h = optObject(e, 'header', p);
    if (!h) throw configError(join(p, 'header'), 'required field is missing');
    assertKnownFields(h, ['key', 'value', 'raw_value'], join(p, 'header'));
    const key = optString(h, 'key', join(p, 'header'));
    if (!key) throw configError(join(join(p, 'header'), 'key'), 'required field is missing');
    const value = optString(h, 'value', join(p, 'header')) ?? (typeof h.raw_value === 'string' ? Buffer.from(h.raw_value, 'base64').toString('latin1') : '');
    const append = optBool(e, 'append', p);
    let action = (optString(e, 'append_action', p) ?? 'APPEND_IF_EXISTS_OR_ADD') as AppendAction;
    if (!ACTIONS.includes(action)) throw configError(join(p, 'append_action'), `unsupported value ${JSON.stringify(action)}`);
    // The deprecated `append: false` means overwrite.
    if (append === false && e.append_action === undefined) action = 'OVERWRITE_IF_EXISTS_OR_ADD';
    const keepEmpty = optBool(e, 'keep_empty_value', p) ?? false;
    return { name: key.toLowerCase(), value: compileValue(value, join(join(p, 'header'), 'value')), action, keepEmpty };
  });
  const removeKey = `${dir}_headers_to_remove`;
  const removes = optArray(obj, removeKey, path).map((v, i) => {
    if (typeof v !== 'string' || !v) throw configError(join(join(path, removeKey), i), 'must be a header name');
    return v.toLowerCase();
  });
  return adds.length || removes.length ? new HeaderMutation(adds, removes) : NO_MUTATION;
}

export const HEADER_MUTATION_FIELDS = ['request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove'];
