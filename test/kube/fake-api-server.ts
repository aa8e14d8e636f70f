/**
 * A stand-in for the Kubernetes API server: no API server can run on this machine, so the tests run
 * the Kubernetes source against this local HTTP server, which follows the list/watch protocol as the
 * real one does:
 * - a global, increasing resourceVersion stamped on every object and list;
 * - list with `limit` and `continue` (pages), items without kind/apiVersion;
 * - `?watch=true&resourceVersion=N` streams chunked, newline-delimited JSON events after N;
 *   `allowWatchBookmarks=true` lets the server send BOOKMARK events carrying only a resourceVersion;
 * - events older than the compaction point answer an ERROR event with a Status of code 410 (Gone);
 * - `timeoutSeconds` ends a watch cleanly; the test can also drop every open watch connection.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

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
}

interface OpenWatch {
  readonly path: string;
  readonly res: http.ServerResponse;
  readonly bookmarks: boolean;
  readonly name?: string;
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
    const type = collection.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.rv) } };
    collection.set(key, stored);
    this.record({ rv: this.rv, path, type, object: stored });
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
    for (const w of this.watches) if (w.path === event.path && selects(w.name, event.object)) w.res.write(JSON.stringify({ type: event.type, object: event.object }) + '\n');
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (req.method !== 'GET') return void res.writeHead(405).end();
    const q = url.searchParams;
    if (q.get('watch') === 'true') this.watch(url.pathname, q, res);
    else this.list(url.pathname, q, res);
  }

  private list(path: string, q: URLSearchParams, res: http.ServerResponse): void {
    let items = [...this.collection(path).values()];
    const name = nameSelected(q);
    items = items.filter((o) => selects(name, o));
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
    const name = nameSelected(q);
    for (const e of this.history) if (e.path === path && e.rv > from && selects(name, e.object)) res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
    const open: OpenWatch = { path, res, bookmarks: q.get('allowWatchBookmarks') === 'true', name };
    this.watches.add(open);
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.watches.delete(open);
    });
  }
}

function keyOf(o: StoredObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

/** The one field selector the source uses: `metadata.name=X`. */
function nameSelected(q: URLSearchParams): string | undefined {
  const selector = q.get('fieldSelector');
  return selector?.startsWith('metadata.name=') ? selector.slice('metadata.name='.length) : undefined;
}

function selects(name: string | undefined, o: StoredObject): boolean {
  return name === undefined || o.metadata.name === name;
}
