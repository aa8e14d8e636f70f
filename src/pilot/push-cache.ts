/**
 * Istio's PushContext/XDS cache for Sailfin: most of what a sidecar gets (outbound clusters, listeners,
 * routes, endpoints) is the same for every sidecar in the same "scope", so it is generated once per scope
 * per push and the very same objects are handed to every proxy of that scope. The ADS server encodes by
 * object identity (src/xds/resource-encoder.ts), so shared objects are encoded once, whatever the number
 * of proxies.
 *
 * Across pushes, a resource whose content did not change keeps its object (interned by its JSON), so the
 * encoder hits again and the server sees "unchanged" and sends nothing. Endpoint assignments survive
 * config-free pushes and are dropped per service when its endpoints change.
 */
import type { JsonObject } from '../proxy/config/fields.js';
import type { GenContext } from './context.js';
import { proxyLocalityOf } from './endpoints/load-assignment.js';
import type { IstioConfig } from './istio-config.js';
import { parseClusterName } from './names.js';
import { scopeFacts, type ScopeFacts } from './scope-facts.js';

/** Which part of a sidecar's config a cached entry is: each depends on different proxy properties. */
export type ScopedPart = 'clusters' | 'listeners' | 'routes' | 'routes-neutral' | 'endpoints';

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function idOf(o: object | undefined): number {
  if (!o) return 0;
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextObjectId++));
  return id;
}

function sortedLabels(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

/** Kinds whose changes never change an endpoint assignment (see configChanged). */
const ENDPOINT_FREE_KINDS = new Set(['VirtualService', 'Gateway', 'Sidecar', 'AuthorizationPolicy', 'RequestAuthentication', 'PeerAuthentication', 'Secret']);

interface ScopeEntry {
  list?: JsonObject[];
  named: Map<string, JsonObject | undefined>;
}

export class PushCache {
  private config: IstioConfig | undefined;
  private facts: ScopeFacts | undefined;
  /** Per push context: scope key → generated lists, and named resources by name. */
  private scoped = new Map<string, ScopeEntry>();
  /** Endpoint assignments by scope and name, kept across pushes until their service's endpoints or the config change. */
  private endpoints = new Map<string, ScopeEntry>();
  /** Scope keys of one generate call (one proxy, one moment): computed once, not per resource name. */
  private keys = new WeakMap<GenContext, Partial<Record<ScopedPart, ScopeEntry>>>();
  /** JSON → the object first generated with that content, this generation and the one before. */
  private interned = new Map<string, JsonObject>();
  private internedBefore = new Map<string, JsonObject>();
  readonly stats = { hits: 0, misses: 0, interned: 0 };

  /** Whether every config change since the last push context was of kinds endpoints never depend on. */
  private keepEndpoints: boolean | undefined;

  /**
   * Tells the cache which kinds a config change touched. Endpoint assignments depend on Services,
   * DestinationRules and the registry only, so a change to, say, a VirtualService keeps them. Without
   * this call every new config starts over.
   */
  configChanged(kinds: Iterable<string>): void {
    let keep = this.keepEndpoints ?? true;
    for (const k of kinds) if (!ENDPOINT_FREE_KINDS.has(k)) keep = false;
    this.keepEndpoints = keep;
  }

  /** Starts a new push context when the config changed; caches of the old one are dropped. */
  begin(ctx: GenContext): void {
    if (this.config === ctx.config) return;
    this.config = ctx.config;
    this.facts = scopeFacts(ctx.config, ctx.services.services());
    this.scoped = new Map();
    if (!this.keepEndpoints) this.endpoints = new Map();
    this.keepEndpoints = undefined;
    this.internedBefore = this.interned;
    this.interned = new Map();
  }

  /** Route tables can be assembled from one shared table (route-tables.ts). */
  get namespaceFree(): boolean {
    return !!this.facts?.namespaceFree;
  }

  /** Forget the endpoint assignments of these hostnames (their endpoints changed; config did not). */
  endpointsChanged(hostnames: ReadonlySet<string>): void {
    if (hostnames.size === 0) return;
    for (const entry of this.endpoints.values()) {
      for (const name of [...entry.named.keys()]) {
        const parsed = parseClusterName(name);
        if (!parsed || hostnames.has(parsed.hostname)) entry.named.delete(name);
      }
    }
  }

  /**
   * The key of everything that makes `part` differ between sidecars: the namespace and Sidecar resource
   * (only when some config makes them matter), the labels (only when some rule selects by source
   * labels or workload), and the locality (endpoint priorities, locality distribution).
   */
  scopeKey(part: ScopedPart, ctx: GenContext): string {
    const facts = this.facts!;
    const p = ctx.proxy;
    const labels = facts.labelSensitive ? sortedLabels(p.labels) : '';
    const loc = proxyLocalityOf(p.labels);
    const locality = loc ? `${loc.region ?? ''}/${loc.zone ?? ''}/${loc.subZone ?? ''}` : '';
    const byNamespace = part === 'routes' ? true : part === 'endpoints' ? !facts.destinationRulesNamespaceFree : !facts.namespaceFree;
    const ns = byNamespace ? `${p.namespace}|${idOf(ctx.config.sidecarFor(p.namespace, p.labels))}` : '';
    return `${part}|${p.type}|${ns}|${labels}|${locality}`;
  }

  private entry(part: ScopedPart, ctx: GenContext): ScopeEntry {
    let mine = this.keys.get(ctx);
    if (!mine) this.keys.set(ctx, (mine = {}));
    let entry = mine[part];
    if (!entry) {
      const key = this.scopeKey(part, ctx);
      const store = part === 'endpoints' ? this.endpoints : this.scoped;
      entry = store.get(key);
      if (!entry) store.set(key, (entry = { named: new Map() }));
      mine[part] = entry;
    }
    return entry;
  }

  /** The resource list of `part` for the proxy's scope in this push context, built (and interned) on first use. */
  list(part: ScopedPart, ctx: GenContext, build: () => JsonObject[]): JsonObject[] {
    const entry = this.entry(part, ctx);
    if (entry.list) {
      this.stats.hits++;
      return entry.list;
    }
    this.stats.misses++;
    entry.list = build().map((r) => this.intern(r));
    return entry.list;
  }

  /** One named resource of a scope (a route table, an endpoint assignment). */
  named(part: ScopedPart, ctx: GenContext, name: string, build: () => JsonObject | undefined, intern = true): JsonObject | undefined {
    const { named } = this.entry(part, ctx);
    if (named.has(name)) {
      this.stats.hits++;
      return named.get(name);
    }
    this.stats.misses++;
    const built = build();
    const value = built && intern ? this.intern(built) : built;
    named.set(name, value);
    return value;
  }

  /** The object already handed out with the same content as `r`, or `r` itself from now on. */
  intern(r: JsonObject): JsonObject {
    const json = JSON.stringify(r);
    let found = this.interned.get(json);
    if (found) return found;
    found = this.internedBefore.get(json);
    if (found) {
      this.stats.interned++;
      this.interned.set(json, found);
      return found;
    }
    this.interned.set(json, r);
    return r;
  }
}
