/**
 * The config store: the objects in force, keyed by kind/namespace/name, and the one place changes enter.
 * A change arrives as a batch (a file, a directory reload, an `apply`) and is validated whole before
 * anything moves: one bad object refuses the batch and the last good config stays in force, so a typo
 * can never take half a mesh down. Accepted batches reach listeners as one event list, in order, with
 * unchanged objects left out so consumers do not rebuild for nothing.
 */
import type { ConfigEvent, ConfigListener } from './events.js';
import { hasErrors, type AnalysisMessage, type ResourceRef } from './messages.js';
import { resourceKey, type LoadedResource } from './resource.js';
import { validateBatch } from './validate.js';

export interface StoreOptions {
  /**
   * Decides whether a batch may be applied; any Error refuses it. Defaults to object validation
   * (schemas, Istio's and Kubernetes' field rules, duplicates).
   */
  validate?: (batch: readonly LoadedResource[]) => AnalysisMessage[];
}

export interface ApplyResult {
  readonly accepted: boolean;
  /** Everything validation said, Errors and Warnings, whether or not the batch was accepted. */
  readonly messages: AnalysisMessage[];
  /** The events sent to listeners (empty when refused or when nothing changed). */
  readonly events: ConfigEvent[];
}

export class ConfigStore {
  private readonly objects = new Map<string, LoadedResource>();
  /** The serialized form of each object, to tell a real change from a re-apply of the same thing. */
  private readonly fingerprints = new Map<string, string>();
  private readonly listeners = new Set<ConfigListener>();
  private readonly validate: (batch: readonly LoadedResource[]) => AnalysisMessage[];

  constructor(options: StoreOptions = {}) {
    this.validate = options.validate ?? validateBatch;
  }

  get size(): number {
    return this.objects.size;
  }

  get(kind: string, namespace: string | undefined, name: string): LoadedResource | undefined {
    return this.objects.get(resourceKey(kind, namespace, name));
  }

  /** All objects, or those of one kind, in the order they were first added. */
  list(kind?: string): LoadedResource[] {
    const all = [...this.objects.values()];
    return kind === undefined ? all : all.filter((o) => o.resource.kind === kind);
  }

  /** Subscribes to accepted changes; returns the unsubscribe function. */
  onChange(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds or replaces the objects of `batch`, all or nothing. */
  apply(batch: readonly LoadedResource[]): ApplyResult {
    const messages = this.validate(batch);
    if (hasErrors(messages)) return { accepted: false, messages, events: [] };
    const events = this.upsert(batch);
    this.emit(events);
    return { accepted: true, messages, events };
  }

  /** Removes the named objects; names not in the store are ignored, as `kubectl delete --ignore-not-found`. */
  delete(refs: readonly ResourceRef[]): ApplyResult {
    const events = this.remove(refs);
    this.emit(events);
    return { accepted: true, messages: [], events };
  }

  /**
   * Makes the store hold exactly `batch` (a reloaded directory): objects missing from it are deleted
   * in the same event list as the upserts, so consumers see one consistent change.
   */
  replace(batch: readonly LoadedResource[]): ApplyResult {
    const messages = this.validate(batch);
    if (hasErrors(messages)) return { accepted: false, messages, events: [] };
    const wanted = new Set(batch.map(keyOf));
    const gone = [...this.objects.entries()].filter(([key]) => !wanted.has(key)).map(([, o]) => refOf(o));
    const events = [...this.upsert(batch), ...this.remove(gone)];
    this.emit(events);
    return { accepted: true, messages, events };
  }

  private upsert(batch: readonly LoadedResource[]): ConfigEvent[] {
    const events: ConfigEvent[] = [];
    for (const loaded of batch) {
      const key = keyOf(loaded);
      // The same object again (an unchanged file on reload): nothing to compare.
      if (this.objects.get(key) === loaded) continue;
      const fingerprint = JSON.stringify(loaded.resource);
      if (this.fingerprints.get(key) === fingerprint) continue;
      this.objects.set(key, loaded);
      this.fingerprints.set(key, fingerprint);
      events.push({ type: 'upsert', resource: loaded });
    }
    return events;
  }

  private remove(refs: readonly ResourceRef[]): ConfigEvent[] {
    const events: ConfigEvent[] = [];
    for (const ref of refs) {
      const key = resourceKey(ref.kind, ref.namespace, ref.name);
      const existing = this.objects.get(key);
      if (!existing) continue;
      this.objects.delete(key);
      this.fingerprints.delete(key);
      events.push({ type: 'delete', resource: existing });
    }
    return events;
  }

  private emit(events: ConfigEvent[]): void {
    if (events.length === 0) return;
    let failure: unknown;
    for (const listener of [...this.listeners]) {
      try {
        listener(events);
      } catch (err) {
        failure ??= err; // every listener still hears about the change; the store is already consistent
      }
    }
    if (failure !== undefined) throw failure;
  }
}

function keyOf(loaded: LoadedResource): string {
  const { kind, metadata } = loaded.resource;
  return resourceKey(kind, metadata.namespace, metadata.name);
}

function refOf(loaded: LoadedResource): ResourceRef {
  const { kind, metadata } = loaded.resource;
  return { kind, namespace: metadata.namespace, name: metadata.name };
}
