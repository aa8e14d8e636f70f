/**
 * List-then-watch of one API resource, the way client-go's reflector keeps a cache: list (in pages)
 * to get every object and the collection's resourceVersion, then watch from that version with
 * bookmarks so the version stays fresh on quiet collections. A watch that ends (server timeout,
 * dropped connection) resumes from the last version seen, after a backoff when it failed; a 410 Gone
 * (the version was compacted away) means events were missed, so the whole list is read again and
 * handed over as a replacement set, which lets the consumer drop objects deleted meanwhile.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { Backoff, type BackoffOptions } from '../xds/backoff.js';
import { ApiStatusError, answerMessage, getJson } from './api-client.js';
import { apiVersionOf, collectionPath, type ApiResource } from './api-resources.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [field: string]: unknown };
  [field: string]: unknown;
}

export interface ReflectorHandler {
  /** A complete list: the consumer's objects of this resource must become exactly `items`. */
  replace(resource: ApiResource, items: KubeObject[]): void;
  upsert(resource: ApiResource, obj: KubeObject): void;
  delete(resource: ApiResource, obj: KubeObject): void;
}

export interface ReflectorOptions {
  pageSize?: number;
  backoff?: BackoffOptions;
  /** Asks the server to end each watch after this long (it is resumed at once), as client-go does. */
  watchTimeoutSeconds?: number;
  /**
   * A fresh list this often (default 1800 s; 0 turns it off) that replaces the consumer's objects, as
   * client-go's periodic resync does: it heals an event a watch lost without an error, which no
   * resourceVersion arithmetic can notice. One list per resource per period is the whole cost.
   */
  resyncSeconds?: number;
  log?: (message: string) => void;
}

/** Counters a test or /debug page can read to see the protocol at work. */
export interface ReflectorStats {
  lists: number;
  watches: number;
  bookmarks: number;
  gone: number;
  failures: number;
  resyncs: number;
}

type WatchEnd = { kind: 'closed' } | { kind: 'gone' } | { kind: 'failed'; error: unknown };

export class Reflector {
  readonly stats: ReflectorStats = { lists: 0, watches: 0, bookmarks: 0, gone: 0, failures: 0, resyncs: 0 };
  private resyncDue = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** Ends the current watch as if the server had closed it. */
  private endWatch: (() => void) | undefined;
  private resourceVersion = '';
  private stopped = false;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private readonly backoff: Backoff;
  private readonly watcher: Watch;
  private syncedOnce!: () => void;
  /** Resolves after the first complete list has been handed to the handler. */
  readonly synced = new Promise<void>((resolve) => (this.syncedOnce = resolve));

  constructor(
    private readonly kc: KubeConfig,
    readonly resource: ApiResource,
    private readonly handler: ReflectorHandler,
    private readonly options: ReflectorOptions = {},
  ) {
    this.backoff = new Backoff(options.backoff ?? { initialMs: 500, maxMs: 30_000 });
    this.watcher = new Watch(kc);
  }

  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  start(): void {
    const resyncMs = (this.options.resyncSeconds ?? 1800) * 1000;
    if (resyncMs > 0) {
      this.resyncTimer = setInterval(() => {
        this.resyncDue = true;
        this.endWatch?.(); // run() then lists
      }, resyncMs);
      this.resyncTimer.unref();
    }
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    this.abort?.abort();
    this.wake?.();
  }

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          this.resyncDue = false; // this list is the resync
          await this.list();
          needList = false;
          this.syncedOnce();
        }
        const end = await this.watchOnce();
        if (this.stopped) return;
        if (this.resyncDue) {
          this.stats.resyncs++;
          this.log('periodic resync: listing again');
          needList = true;
          continue;
        }
        if (end.kind === 'gone') {
          this.stats.gone++;
          this.log('resourceVersion expired (410 Gone): listing again');
          needList = true;
        } else if (end.kind === 'failed') {
          this.stats.failures++;
          this.log(`watch failed: ${describe(end.error)}; resuming from ${this.resourceVersion}`);
          await this.sleep(this.backoff.next());
        }
        // 'closed': the server ended a healthy watch; resume at once from the last version.
      } catch (err) {
        if (this.stopped) return;
        this.stats.failures++;
        if (err instanceof ApiStatusError && err.status === 410) needList = true;
        this.log(`list failed: ${describe(err)}`);
        await this.sleep(this.backoff.next());
      }
    }
  }

  private async list(): Promise<void> {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let version = '';
    do {
      const answer = await getJson(this.kc, collectionPath(this.resource), {
        limit: String(this.options.pageSize ?? 500),
        continue: cont,
        fieldSelector: this.resource.fieldSelector,
        labelSelector: this.resource.labelSelector,
      });
      if (answer.status === 410 && cont !== undefined) {
        // The continue token expired between pages: start the list over for a consistent snapshot.
        items.length = 0;
        cont = undefined;
        continue;
      }
      if (answer.status !== 200) throw new ApiStatusError(answer.status, `GET ${collectionPath(this.resource)}: ${answerMessage(answer)}`);
      const body = answer.body as { metadata?: { resourceVersion?: string; continue?: string }; items?: KubeObject[] };
      for (const item of body.items ?? []) items.push(this.typed(item));
      version = body.metadata?.resourceVersion ?? '';
      cont = body.metadata?.continue || undefined;
    } while (cont !== undefined && !this.stopped);
    this.stats.lists++;
    this.resourceVersion = version;
    this.handler.replace(this.resource, items);
  }

  private watchOnce(): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let ended = false;
      let healthy = false;
      const finish = (end: WatchEnd) => {
        if (ended) return;
        ended = true;
        this.endWatch = undefined;
        this.abort?.abort();
        this.abort = undefined;
        if (healthy) this.backoff.reset();
        resolve(end);
      };
      const query = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        fieldSelector: this.resource.fieldSelector,
        labelSelector: this.resource.labelSelector,
        timeoutSeconds: this.options.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300),
      };
      this.stats.watches++;
      this.endWatch = () => finish({ kind: 'closed' });
      const onEvent = (type: string, obj: KubeObject | { code?: number; message?: string }) => {
        if (ended) return;
        healthy = true;
        if (type === 'ERROR') {
          const status = obj as { code?: number; message?: string };
          finish(status.code === 410 ? { kind: 'gone' } : { kind: 'failed', error: new Error(status.message ?? 'watch error') });
          return;
        }
        const o = this.typed(obj as KubeObject);
        const version = o.metadata.resourceVersion;
        if (version) this.resourceVersion = version;
        if (type === 'BOOKMARK') this.stats.bookmarks++;
        else if (type === 'ADDED' || type === 'MODIFIED') this.handler.upsert(this.resource, o);
        else if (type === 'DELETED') this.handler.delete(this.resource, o);
      };
      const onDone = (err: unknown) => {
        const status = (err as { statusCode?: number } | null)?.statusCode;
        if (status === 410) finish({ kind: 'gone' });
        else if (err && !isAbort(err)) finish({ kind: 'failed', error: err });
        else finish({ kind: 'closed' });
      };
      this.watcher
        .watch(collectionPath(this.resource), query, onEvent, onDone)
        .then((controller) => {
          if (ended || this.stopped) controller.abort();
          else this.abort = controller;
        })
        .catch((err: unknown) => finish({ kind: 'failed', error: err }));
    });
  }

  /** List items come without kind and apiVersion; the store needs both. */
  private typed(obj: KubeObject): KubeObject {
    return { ...obj, apiVersion: apiVersionOf(this.resource), kind: this.resource.kind };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private log(message: string): void {
    this.options.log?.(`${this.resource.kind}: ${message}`);
  }
}

function isAbort(err: unknown): boolean {
  return (err as { name?: string }).name === 'AbortError';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
