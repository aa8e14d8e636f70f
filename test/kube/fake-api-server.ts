/**
 * A stand-in for the Kubernetes API server: no API server can run on this machine, so the tests run
 * the Kubernetes source against this local HTTP server, which follows the list/watch protocol as the
 * real one does:
 * - a global, increasing resourceVersion stamped on every object and list;
 * - list with `limit` and `continue` (pages), items without kind/apiVersion;
 * - `?watch=true&resourceVersion=N` streams chunked, newline-delimited JSON events after N;
 *   `allowWatchBookmarks=true` lets the server send BOOKMARK events carrying only a resourceVersion;
 * - events older than the compaction point answer an ERROR event with a Status of code 410 (Gone);
 * - `fieldSelector=metadata.name=X` and `labelSelector` (`k=v`, `k!=v`, `k`, `!k`, comma-joined) narrow
 *   lists and watches; a watched object whose change moves it into or out of the selection is seen as
 *   ADDED or DELETED, as the real server reports it;
 * - `timeoutSeconds` ends a watch cleanly; the test can also drop every open watch connection;
 * - single objects (`…/namespaces/NS/PLURAL/NAME`) can be read, created (POST, 409 AlreadyExists),
 *   replaced (PUT, 409 Conflict when metadata.resourceVersion is not the stored one: optimistic
 *   concurrency, which leader election relies on), patched (JSON Patch, merge patch, server-side
 *   apply) and deleted, with 404 NotFound Status answers, as the real API server does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyPatch, type JsonPatchOp } from '../../src/inject/json-patch.js';

export interface StoredObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface WatchEvent {
  readonly rv: number;
  readonly path: string;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: StoredObject;
  /** The object before a MODIFIED event, to tell selection changes. */
  readonly previous?: StoredObject;
}

interface OpenWatch {
  readonly path: string;
  readonly res: http.ServerResponse;
  readonly bookmarks: boolean;
  readonly selector: Selector;
}

export class FakeApiServer {
  private rv = 100;
  private compactedBelow = 0;
  private readonly objects = new Map<string, Map<string, StoredObject>>();
  private readonly history: WatchEvent[] = [];
  private readonly watches = new Set<OpenWatch>();
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  /** Every request, `GET <path>?<query>`, so tests can see lists vs watches and their versions. */
  readonly requests: string[] = [];
  /** Bearer tokens whose requests fail with 503, as if that client lost the API server. */
  readonly unreachableFor = new Set<string>();
  /** 409 answers given (create races and stale-resourceVersion replaces). */
  conflicts = 0;
  /** Tokens TokenReview accepts: token → the user it proves and the audiences it is for. */
  readonly tokens = new Map<string, { username: string; audiences: string[] }>();

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** Creates or replaces an object in the collection at `path` (e.g. `/api/v1/pods`). */
  put(path: string, object: StoredObject): void {
    const collection = this.collection(path);
    const key = keyOf(object);
    const previous = collection.get(key);
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.rv) } };
    collection.set(key, stored);
    this.record({ rv: this.rv, path, type: previous ? 'MODIFIED' : 'ADDED', object: stored, ...(previous ? { previous } : {}) });
  }

  remove(path: string, namespace: string | undefined, name: string): void {
    const collection = this.collection(path);
    const key = `${namespace ?? ''}/${name}`;
    const existing = collection.get(key);
    if (!existing) return;
    collection.delete(key);
    const stored = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(++this.rv) } };
    this.record({ rv: this.rv, path, type: 'DELETED', object: stored });
  }

  /** Changes an object without any watch event, as if a watch had lost that event: only a relist sees it. */
  putUnannounced(path: string, object: StoredObject): void {
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.rv) } };
    this.collection(path).set(keyOf(object), stored);
  }

  /** Sends a BOOKMARK at the current version to every watch that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.watches) {
      if (w.bookmarks) w.res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Status', metadata: { resourceVersion: String(this.rv) } } }) + '\n');
    }
  }

  /** Forgets history: watches from a version before now get 410 Gone, as after etcd compaction. */
  compact(): void {
    this.compactedBelow = this.rv;
    this.history.length = 0;
  }

  /** Cuts every watch connection mid-stream, as a load balancer or API server restart would. */
  dropWatches(): void {
    for (const w of this.watches) w.res.socket?.destroy();
    this.watches.clear();
  }

  private collection(path: string): Map<string, StoredObject> {
    let c = this.objects.get(path);
    if (!c) this.objects.set(path, (c = new Map()));
    return c;
  }

  private record(event: WatchEvent): void {
    this.history.push(event);
    for (const w of this.watches) if (w.path === event.path) send(w.res, w.selector, event);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token && this.unreachableFor.has(token)) return void status(res, 503, 'ServiceUnavailable', 'unreachable (test)');
    const q = url.searchParams;
    const r = route(url.pathname);
    if (req.method === 'GET' && r?.name === undefined) {
      if (q.get('watch') === 'true') this.watch(url.pathname, q, res);
      else this.list(url.pathname, q, res);
      return;
    }
    if (!r) return void status(res, 404, 'NotFound', `no route for ${url.pathname}`);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        return void status(res, 400, 'BadRequest', 'the body is not JSON');
      }
      this.writeObject(req.method ?? 'GET', r, body, req.headers['content-type'] ?? '', res);
    });
  }

  /** TokenReview as the API server answers it: authenticated only for a known token meant for one of the asked audiences. */
  private tokenReview(body: unknown, res: http.ServerResponse): void {
    const spec = (body as { spec?: { token?: string; audiences?: string[] } })?.spec ?? {};
    const known = this.tokens.get(spec.token ?? '');
    const wanted = spec.audiences ?? [];
    const audiences = known ? known.audiences.filter((a) => wanted.length === 0 || wanted.includes(a)) : [];
    const status = known && audiences.length > 0 ? { authenticated: true, user: { username: known.username }, audiences } : { authenticated: false, error: 'invalid bearer token' };
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec, status }));
  }

  /** The stored object, or undefined (tests read what a client wrote). */
  get(path: string, namespace: string | undefined, name: string): StoredObject | undefined {
    const o = this.collection(path).get(`${namespace ?? ''}/${name}`);
    return o ? structuredClone(o) : undefined;
  }

  private writeObject(method: string, r: Route, body: unknown, contentType: string, res: http.ServerResponse): void {
    if (method === 'POST' && r.collection === '/apis/authentication.k8s.io/v1/tokenreviews') return this.tokenReview(body, res);
    const collection = this.collection(r.collection);
    const key = `${r.namespace ?? ''}/${r.name ?? ''}`;
    const existing = r.name === undefined ? undefined : collection.get(key);
    const send = (code: number, o: StoredObject): void => void res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(o));
    const withMeta = (o: StoredObject, name: string): StoredObject => ({ ...o, metadata: { ...o.metadata, name, ...(r.namespace ? { namespace: r.namespace } : {}) } });
    if (method === 'GET') return existing ? send(200, existing) : status(res, 404, 'NotFound', `${r.collection} "${r.name}" not found`);
    if (method === 'DELETE') {
      if (!existing) return status(res, 404, 'NotFound', `${r.collection} "${r.name}" not found`);
      this.remove(r.collection, r.namespace, r.name!);
      return status(res, 200, 'Success', 'deleted');
    }
    const obj = body as StoredObject | undefined;
    if (method === 'POST') {
      const name = obj?.metadata?.name;
      if (!obj || typeof name !== 'string') return status(res, 422, 'Invalid', 'metadata.name is required');
      if (collection.has(`${r.namespace ?? ''}/${name}`)) {
        this.conflicts++;
        return status(res, 409, 'AlreadyExists', `${r.collection} "${name}" already exists`);
      }
      this.put(r.collection, withMeta(obj, name));
      return send(201, this.get(r.collection, r.namespace, name)!);
    }
    if (method === 'PUT') {
      if (!obj?.metadata) return status(res, 422, 'Invalid', 'metadata is required');
      if (!existing) return status(res, 404, 'NotFound', `${r.collection} "${r.name}" not found`);
      const rv = obj.metadata.resourceVersion;
      if (rv !== undefined && rv !== existing.metadata.resourceVersion) {
        this.conflicts++;
      return status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${r.collection} "${r.name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      this.put(r.collection, withMeta(obj, r.name!));
      return send(200, this.get(r.collection, r.namespace, r.name!)!);
    }
    if (method === 'PATCH') {
      const type = contentType.split(';')[0].trim();
      let next: StoredObject;
      if (type === 'application/apply-patch+yaml') {
        // Server-side apply creates or merges: the fake keeps "applied fields win, others' fields stay",
        // merging lists of named items (webhooks, containers, ports) by name as their list-map keys do.
        next = withMeta(applyMerge(existing ?? {}, obj) as StoredObject, r.name!);
      } else if (!existing) {
        return status(res, 404, 'NotFound', `${r.collection} "${r.name}" not found`);
      } else if (type === 'application/json-patch+json') {
        try {
          next = applyPatch(existing, body as JsonPatchOp[]);
        } catch (err) {
          return status(res, 422, 'Invalid', (err as Error).message);
        }
      } else if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') {
        next = mergePatch(existing, obj) as StoredObject;
      } else {
        return status(res, 415, 'UnsupportedMediaType', `patch type ${type} is not supported`);
      }
      this.put(r.collection, withMeta(next, r.name!));
      return send(existing ? 200 : 201, this.get(r.collection, r.namespace, r.name!)!);
    }
    status(res, 405, 'MethodNotAllowed', `${method} is not allowed`);
  }

  private list(path: string, q: URLSearchParams, res: http.ServerResponse): void {
    let items = [...this.collection(path).values()];
    const selector = selectorOf(q);
    items = items.filter((o) => selects(selector, o));
    items.sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const limit = Number(q.get('limit') ?? '0');
    const start = Number(q.get('continue') ?? '0');
    const page = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
    const next = limit > 0 && start + limit < items.length ? String(start + limit) : undefined;
    const body = {
      kind: 'List',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) },
      items: page.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private watch(path: string, q: URLSearchParams, res: http.ServerResponse): void {
    const from = Number(q.get('resourceVersion') ?? '0');
    // Chunked transfer: headers now, one JSON event per line as things happen.
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (from < this.compactedBelow) {
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${from} (${this.compactedBelow})` } }) + '\n');
      return;
    }
    const selector = selectorOf(q);
    for (const e of this.history) if (e.path === path && e.rv > from) send(res, selector, e);
    const open: OpenWatch = { path, res, bookmarks: q.get('allowWatchBookmarks') === 'true', selector };
    this.watches.add(open);
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.watches.delete(open);
    });
  }
}

interface Route {
  collection: string;
  namespace?: string;
  name?: string;
}

/** `/api/v1/namespaces/NS/PLURAL/NAME` or `/apis/G/V/…` → the all-namespaces collection path, namespace and name. */
function route(pathname: string): Route | undefined {
  const segs = pathname.split('/').filter(Boolean);
  let prefix: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) [prefix, rest] = [`/api/${segs[1]}`, segs.slice(2)];
  else if (segs[0] === 'apis' && segs.length >= 4) [prefix, rest] = [`/apis/${segs[1]}/${segs[2]}`, segs.slice(3)];
  else return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) return { collection: `${prefix}/${rest[2]}`, namespace: rest[1], name: rest[3] };
  return { collection: `${prefix}/${rest[0]}`, name: rest[1] };
}

function status(res: http.ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: code < 300 ? 'Success' : 'Failure', reason, message, code }));
}

/** RFC 7386 merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Server-side apply's merge, roughly: maps merge, lists of items with a `name` merge by name, other values are replaced. */
function applyMerge(target: unknown, applied: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isMap(target) && isMap(applied)) {
    const out: Record<string, unknown> = { ...target };
    for (const [k, v] of Object.entries(applied)) out[k] = applyMerge(target[k], v);
    return out;
  }
  const named = (l: unknown): l is Record<string, unknown>[] => Array.isArray(l) && l.every((i) => isMap(i) && typeof i.name === 'string');
  if (named(target) && named(applied)) return applied.map((item) => applyMerge(target.find((t) => t.name === item.name), item));
  return applied;
}

function keyOf(o: StoredObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

interface Selector {
  readonly name?: string;
  readonly labels: ReadonlyArray<{ key: string; op: '=' | '!=' | 'exists' | '!exists'; value?: string }>;
}

/** `fieldSelector=metadata.name=X` (the one field selector the source uses) and a label selector. */
function selectorOf(q: URLSearchParams): Selector {
  const field = q.get('fieldSelector');
  const labels: Selector['labels'][number][] = [];
  for (const term of (q.get('labelSelector') ?? '').split(',').map((t) => t.trim()).filter(Boolean)) {
    const m = /^([^!=]+?)\s*(!=|==|=)\s*(.*)$/.exec(term);
    if (m) labels.push({ key: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]! });
    else if (term.startsWith('!')) labels.push({ key: term.slice(1), op: '!exists' });
    else labels.push({ key: term, op: 'exists' });
  }
  return { ...(field?.startsWith('metadata.name=') ? { name: field.slice('metadata.name='.length) } : {}), labels };
}

function selects(selector: Selector, o: StoredObject): boolean {
  if (selector.name !== undefined && o.metadata.name !== selector.name) return false;
  const labels = (o.metadata.labels ?? {}) as Record<string, string>;
  return selector.labels.every(({ key, op, value }) => {
    const has = Object.hasOwn(labels, key);
    if (op === 'exists') return has;
    if (op === '!exists') return !has;
    return op === '=' ? has && labels[key] === value : !has || labels[key] !== value;
  });
}

/** Writes `e` as a watcher with `selector` sees it: a change across the selection's edge is an ADDED or DELETED. */
function send(res: http.ServerResponse, selector: Selector, e: WatchEvent): void {
  const now = selects(selector, e.object);
  const before = e.previous ? selects(selector, e.previous) : now;
  let type: WatchEvent['type'] | undefined = now ? e.type : undefined;
  if (e.type === 'MODIFIED' && now !== before) type = now ? 'ADDED' : 'DELETED';
  if (type) res.write(JSON.stringify({ type, object: e.object }) + '\n');
}
